"""The evaluation result and its CSV files in the official davis2017-evaluation format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.common.files import atomic_save
from pipelines.evaluation.metrics import METRICS
from pipelines.evaluation.statistics import object_statistics

if TYPE_CHECKING:  # pandas is imported lazily: it is the slowest import of a CLI run
    import pandas as pd

ID_COLUMNS = ["sequence", "object"]
PER_SEQUENCE_COLUMNS = ["Sequence", "J-Mean", "F-Mean"]
YOUTUBEVOS_PER_SEQUENCE_COLUMNS = ["Sequence", "J-Mean", "F-Mean", "Category", "Seen"]


def per_object_frame(sequence: str, obj: int, values: dict[str, np.ndarray]) -> tuple:
    """(sequence, object, then Mean, Recall, Decay of each metric's per-frame ``values``)."""
    stats = [s for name in METRICS for s in object_statistics(values[name])]
    return (sequence, obj, *stats)


@dataclass
class EvalResult:
    """Tables of one evaluation.

    global_: one row (DAVIS: ``metrics.global_columns()``; YouTube-VOS: ``overall`` and
        ``<metric>_seen`` / ``<metric>_unseen`` of every metric).
    per_sequence: one row per object named ``<sequence>_<id>`` with ``PER_SEQUENCE_COLUMNS``
        (the official "per-sequence" file is per object).
    per_object: sequence, object and ``metrics.object_columns()`` (YouTube-VOS adds ``category``,
        ``seen``, ``first_frame``).
    per_frame: sequence, object, frame and one column per metric, one row per object and evaluated
        frame, full precision.
    seconds: wall time of the evaluation.
    """

    global_: pd.DataFrame
    per_sequence: pd.DataFrame
    per_object: pd.DataFrame
    per_frame: pd.DataFrame
    split: str
    seconds: float = 0.0

    @property
    def object_frames(self) -> int:
        """Number of (object, frame) values evaluated."""
        return len(self.per_frame)

    def csv_paths(self, out_dir: str | Path) -> tuple[Path, Path]:
        out_dir = Path(out_dir)
        return (
            out_dir / f"global_results-{self.split}.csv",
            out_dir / f"per-sequence_results-{self.split}.csv",
        )

    def write_csvs(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write both CSVs as the official evaluator does (3 decimals, no index, NaN empty)."""
        global_path, sequence_path = self.csv_paths(out_dir)
        for table, path in ((self.global_, global_path), (self.per_sequence, sequence_path)):
            atomic_save(path, lambda tmp, table=table: table.to_csv(tmp, index=False, float_format="%.3f"))
        return global_path, sequence_path


def per_sequence_table(per_object: pd.DataFrame, columns: list[str], **extra) -> pd.DataFrame:
    """The official "per-sequence" table: one row per object named ``<sequence>_<id>`` with its
    J-Mean and F-Mean, plus ``extra`` columns (name -> values)."""
    import pandas as pd

    names = [f"{s}_{o}" for s, o in zip(per_object["sequence"], per_object["object"], strict=True)]
    return pd.DataFrame(
        {"Sequence": names, "J-Mean": per_object["J-Mean"], "F-Mean": per_object["F-Mean"], **extra},
        columns=columns,
    )
