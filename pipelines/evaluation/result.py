"""The evaluation result and its CSV files in the official davis2017-evaluation format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.data.masks import atomic_save

if TYPE_CHECKING:  # pandas is imported lazily: it is the slowest import of a CLI run
    import pandas as pd

GLOBAL_COLUMNS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
PER_SEQUENCE_COLUMNS = ["Sequence", "J-Mean", "F-Mean"]
PER_OBJECT_COLUMNS = ["sequence", "object", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
PER_FRAME_COLUMNS = ["sequence", "object", "frame", "J", "F"]
YOUTUBEVOS_GLOBAL_COLUMNS = ["overall", "J_seen", "J_unseen", "F_seen", "F_unseen"]
YOUTUBEVOS_PER_SEQUENCE_COLUMNS = ["Sequence", "J-Mean", "F-Mean", "Category", "Seen"]


@dataclass
class EvalResult:
    """Tables of one evaluation.

    global_: one row (DAVIS: ``GLOBAL_COLUMNS``; YouTube-VOS: ``YOUTUBEVOS_GLOBAL_COLUMNS``).
    per_sequence: one row per object named ``<sequence>_<id>`` with ``PER_SEQUENCE_COLUMNS``
        (the official "per-sequence" file is per object).
    per_object: ``PER_OBJECT_COLUMNS`` (YouTube-VOS adds ``category``, ``seen``, ``first_frame``).
    per_frame: ``PER_FRAME_COLUMNS``, one row per object and evaluated frame, full precision.
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
