"""The datasets the suite evaluates and trains on, by name: which layout its folder has, which ``data.<key>``
of the config names its root, its splits, and the reader and evaluator of that layout.

Adding a dataset in a layout the suite reads (DAVIS or YouTube-VOS) is one ``register(Dataset(...))``:
the config check, the readers, predict, evaluate, collect and the workflow's wildcards look it up here.
A new layout is a ``Layout`` with its reader, evaluator and the parts a root must hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.data.coco import ANNOTATION_FILES, IMAGE_DIRS
from pipelines.data.davis import DavisDataset
from pipelines.data.youtubevos import YouTubeVOSDataset
from pipelines.evaluation.davis import evaluate_davis
from pipelines.evaluation.youtubevos import evaluate_youtubevos


@dataclass(frozen=True)
class Layout:
    """How a dataset's folder is organised: the split name of each use, and the parts a root must hold."""

    name: str
    splits: dict[str, str]
    """use ('train' / 'val') -> the split's name in this layout."""

    def required_parts(self, dataset: Dataset, uses: set[str]) -> list[list[str]]:
        """Relative paths a root must hold for ``uses``; each entry lists alternatives."""
        raise NotImplementedError

    def reader(self, dataset: Dataset, root: Path, split: str):
        raise NotImplementedError

    def split_list(self, dataset: Dataset, root: Path, split: str) -> Path:
        """The file that lists a split's videos."""
        raise NotImplementedError

    def evaluate(self, dataset: Dataset, root: Path, predictions: Path, split: str, workers: int):
        raise NotImplementedError


class DavisLayout(Layout):
    """JPEGImages/<resolution>, Annotations/<resolution> palette PNGs, ImageSets/<year>/<split>.txt."""

    def required_parts(self, dataset, uses):
        parts = [[f"JPEGImages/{dataset.resolution}"], [f"Annotations/{dataset.resolution}"]]
        for use in sorted(uses):
            alternatives = [f"ImageSets/{dataset.year}/{self.splits[use]}.txt"]
            if dataset.year == "2016":  # the DAVIS-2016 release's own lists
                alternatives.append(f"ImageSets/{dataset.resolution}/{self.splits[use]}.txt")
            parts.append(alternatives)
        return parts

    def reader(self, dataset, root, split):
        return DavisDataset(root, year=dataset.year, split=split, resolution=dataset.resolution)

    def split_list(self, dataset, root, split):
        return root / "ImageSets" / dataset.year / f"{split}.txt"

    def evaluate(self, dataset, root, predictions, split, workers):
        return evaluate_davis(root, predictions, split=split, year=dataset.year, workers=workers,
                              resolution=dataset.resolution)


class YouTubeVOSLayout(Layout):
    """<split>/JPEGImages, <split>/Annotations, <split>/meta.json (objects may start mid-video)."""

    def required_parts(self, dataset, uses):
        return [[f"{self.splits[use]}/{part}"] for use in sorted(uses)
                for part in ("JPEGImages", "Annotations", "meta.json")]

    def reader(self, dataset, root, split):
        return YouTubeVOSDataset(root, split=split)

    def split_list(self, dataset, root, split):
        return root / split / "meta.json"

    def evaluate(self, dataset, root, predictions, split, workers):
        return evaluate_youtubevos(root, predictions, split=split, workers=workers)


DAVIS = DavisLayout("davis", {"train": "train", "val": "val"})
YOUTUBEVOS = YouTubeVOSLayout("youtubevos", {"train": "train", "val": "valid"})
LAYOUTS = {layout.name: layout for layout in (DAVIS, YOUTUBEVOS)}


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    """The name a message or a figure gives it (DAVIS-2017)."""
    layout: Layout
    root_key: str
    """The config's ``data.<root_key>`` naming its root folder."""
    year: str | None = None
    """DAVIS: the ImageSets/<year> lists it reads."""
    resolution: str = "480p"
    single_object: bool = False
    """Scored as one foreground object (DAVIS-2016): the objects are merged before prediction."""
    synthetic_folder: str | None = None
    """Its folder under the generated synthetic data (``data.synthetic``); None: not generated."""
    root_fallback: str | None = None
    """The data key whose root it reads when its own is not given."""

    def split(self, use: str) -> str:
        """The split read for a use: 'train', or 'val' (the split predicted and scored)."""
        return self.layout.splits[use]

    def split_name(self, split: str) -> str:
        """``split`` in this layout's words: 'val' and 'valid' both name the scored split."""
        return self.split("val") if split in ("val", "valid") else split

    def required_parts(self, uses: set[str]) -> list[list[str]]:
        return self.layout.required_parts(self, uses)

    def reader(self, root: str | Path, split: str):
        """The reader of one split (checks the folder when constructed)."""
        return self.layout.reader(self, Path(root), self.split_name(split))

    def split_list(self, root: str | Path, split: str) -> Path:
        """The file that lists the videos of one of its splits (DAVIS: ImageSets/<year>/<split>.txt)."""
        return self.layout.split_list(self, Path(root), split)

    def evaluate(self, root: str | Path, predictions: str | Path, split: str | None = None, workers: int = 1):
        """The suite's evaluator on a prediction folder: an ``EvalResult``."""
        return self.layout.evaluate(self, Path(root), Path(predictions), self.split_name(split or "val"), workers)

    @property
    def has_attributes(self) -> bool:
        """Whether the synthetic data's attributes.csv describes its objects (merged objects it does not)."""
        return self.synthetic_folder is not None and not self.single_object


DATASETS: dict[str, Dataset] = {}
"""Every registered dataset by name, in the order the tables list them."""


def register(dataset: Dataset) -> Dataset:
    if dataset.name in DATASETS and DATASETS[dataset.name] != dataset:
        raise ValueError(f"dataset {dataset.name!r} is registered already")
    DATASETS[dataset.name] = dataset
    return dataset


def unregister(name: str) -> None:
    """Forget a registered dataset (a test's own entry)."""
    DATASETS.pop(name, None)


def get(name: str) -> Dataset:
    """The dataset called ``name``; ValueError naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None


def names() -> list[str]:
    return list(DATASETS)


register(Dataset("davis2017", "DAVIS-2017", DAVIS, root_key="davis", year="2017", synthetic_folder="DAVIS"))
register(Dataset("davis2016", "DAVIS-2016", DAVIS, root_key="davis2016", year="2016", single_object=True,
                 synthetic_folder="DAVIS", root_fallback="davis"))
register(Dataset("youtubevos", "YouTube-VOS 2018", YOUTUBEVOS, root_key="youtubevos", synthetic_folder="YouTubeVOS"))

HOLDOUT_DATASET = "davis2017"
"""The dataset whose train videos ``train.main.holdout`` / ``holdout_split`` hold out for validation."""
CLAIMS_DATASET = "davis2017"
"""The dataset the claims table, the probes and the qualitative figures are computed on by default."""

PRETRAIN_ROOT_KEY = "coco"
"""The data key of the static images of the ``pretrain`` schedule (COCO instances)."""
PRETRAIN_SYNTHETIC_FOLDER = "COCO"
PRETRAIN_PARTS = [[f"annotations/{name}" for name in ANNOTATION_FILES], list(IMAGE_DIRS)]
"""What a COCO root must hold (alternatives)."""
