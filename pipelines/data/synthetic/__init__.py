"""The embedded synthetic VOS dataset: DAVIS, YouTube-VOS and COCO layouts from one seed.

    python -m pipelines.data.synthetic --out DIR --preset {smoke,default} --seed N
"""

from pipelines.data.synthetic.generator import generate
from pipelines.data.synthetic.presets import PRESETS, Preset, get_preset

__all__ = ["PRESETS", "Preset", "generate", "get_preset"]
