"""Textured backgrounds: crops of the photographs bundled with scikit-image, plus procedural fields.

Only files shipped inside the scikit-image wheel are read (never its download cache), so the result
depends on nothing but the installed package and the seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image
from scipy.ndimage import gaussian_filter

# Bundled with scikit-image; grey ones are tinted when used.
PHOTO_FILES = (
    "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg",
    "motorcycle_left.png", "ihc.png", "gravel.png", "brick.png", "grass.png", "camera.png", "moon.png",
    "coins.png", "text.png", "page.png", "cell.png",
)


def load_photos() -> list[np.ndarray]:
    """The bundled photographs present in this install, as uint8 (H, W, 3), in a fixed order."""
    folder = Path(skimage.data.__file__).parent
    photos = []
    for name in PHOTO_FILES:
        path = folder / name
        if not path.is_file():
            continue
        with Image.open(path) as image:
            photos.append(np.asarray(image.convert("RGB")))
    return photos


def _photo_crop(rng: np.random.Generator, photo: np.ndarray, height: int, width: int) -> np.ndarray:
    """A random crop of a randomly downscaled photo, float32 (height, width, 3)."""
    ph, pw = photo.shape[:2]
    fit = max(height / ph, width / pw)
    scale = min(1.0, fit * rng.uniform(1.2, 2.5))
    size = (max(width, round(pw * scale)), max(height, round(ph * scale)))
    resized = np.asarray(Image.fromarray(photo).resize(size, Image.BILINEAR), dtype=np.float32)
    y = rng.integers(0, resized.shape[0] - height + 1)
    x = rng.integers(0, resized.shape[1] - width + 1)
    crop = resized[y : y + height, x : x + width]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    is_grey = np.allclose(crop[..., 0], crop[..., 1]) and np.allclose(crop[..., 1], crop[..., 2])
    if is_grey:
        tint = rng.uniform(0.55, 1.0, size=3)
        crop = crop * tint
    return crop


def _procedural(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-scale coloured noise with a faint plaid: float32 (height, width, 3)."""
    field = np.zeros((height, width, 3), dtype=np.float32)
    for sigma, weight in ((14, 1.0), (5, 0.5), (2, 0.2)):
        octave = gaussian_filter(rng.standard_normal((height, width, 3)), sigma=(sigma, sigma, 0))
        field += weight * octave / (octave.std() + 1e-6)
    field /= field.std() + 1e-6
    base = rng.uniform(60, 190, size=3)
    image = base + 38 * field
    period = rng.uniform(10, 30)
    yy, xx = np.mgrid[0:height, 0:width]
    image += 14 * (np.sin(2 * np.pi * xx / period)[..., None] * np.sin(2 * np.pi * yy / period)[..., None])
    return image.astype(np.float32)


def background_canvas(rng: np.random.Generator, photos: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """A textured canvas float32 (height, width, 3), muted a little so annotated objects stay distinct."""
    if photos and rng.random() < 0.75:
        canvas = _photo_crop(rng, photos[rng.integers(len(photos))], height, width)
    else:
        canvas = _procedural(rng, height, width)
    grey = canvas.mean(axis=2, keepdims=True)
    saturation = rng.uniform(0.35, 0.8)
    contrast = rng.uniform(0.6, 0.9)
    canvas = grey + (canvas - grey) * saturation
    canvas = canvas.mean() + (canvas - canvas.mean()) * contrast
    return np.clip(canvas, 0, 255).astype(np.float32)
