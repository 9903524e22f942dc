"""Palette PNG masks as DAVIS and YouTube-VOS store them: pixel value = object id, 0 = background,
255 = void. Values are read as palette indices, never through the colour table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.common.files import DataError, atomic_save

VOID_ID = 255


def davis_palette() -> bytes:
    """The 256-colour DAVIS / PASCAL VOC palette (768 bytes, RGB triplets)."""
    palette = bytearray(768)
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette[3 * index : 3 * index + 3] = bytes((r, g, b))
    return bytes(palette)


DAVIS_PALETTE = davis_palette()


def read_mask(path: str | Path, allow_binary: bool = False) -> np.ndarray:
    """Read a palette PNG as an ``(H, W) uint8`` array of indices.

    Raises DataError naming the file if it is missing, unreadable or not a palette ('P') image.
    ``allow_binary`` also accepts the grey 0/255 masks of the DAVIS-2016 release, returned as 0/1.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "mask file does not exist")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.array(image)
    except Exception as err:  # PIL raises many types for corrupt files
        raise DataError(path, f"cannot read PNG ({err.__class__.__name__}: {err})") from err
    if allow_binary and mode in ("L", "1"):
        return (array > 127 if mode == "L" else array).astype(np.uint8)
    if mode != "P":
        raise DataError(path, f"not a palette PNG (mode {mode!r}, expected 'P' with object ids as indices)")
    return array.astype(np.uint8, copy=False)


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Write an ``(H, W)`` integer array as a DAVIS-palette PNG, atomically (temp file + rename)."""
    path = Path(path)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{path}: mask must be 2-D, got shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"{path}: mask ids must lie in 0..255")
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(DAVIS_PALETTE)
    atomic_save(path, lambda tmp: image.save(tmp, format="PNG"))
