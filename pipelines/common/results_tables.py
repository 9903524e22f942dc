"""The tables of results/ as their readers rely on them: the columns that identify a row (each key
appears once) and the columns read from it, and the one checked way to read such a table.

A table whose key repeats (a conflicting duplicate row, two collects concatenated) or that lacks a
column its readers use (renamed, hand-edited) is refused with one line naming the file, rather than
silently picking one of the rows or failing deep inside a figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.common.files import DataError

RUN = ["variant", "stage", "seed"]
EVALUATED_RUN = [*RUN, "dataset", "split"]
TIMED = ["variant", "backbone", "height", "width", "dtype", "objects", "t"]

TABLE_KEYS: dict[str, list[str]] = {
    "claims": ["claim", "metric"],
    "probes": [*EVALUATED_RUN, "intervention"],
    "scm_gates": [*RUN, "sequence", "object"],
    "accuracy": EVALUATED_RUN,
    "accuracy_summary": ["variant", "stage", "dataset", "split"],
    "per_sequence": [*EVALUATED_RUN, "sequence", "object"],
    "per_attribute": ["variant", "stage", "dataset", "attribute", "has"],
    "training_loss": [*RUN, "iteration"],
    "validation": [*RUN, "iteration"],
    "runs": RUN,
    "speed": TIMED,
    "memory_vs_t": TIMED,
    "train_speed": ["variant", "stage", "backbone", "crop_height", "crop_width", "batch_size", "num_frames",
                    "max_objects"],
    "rule_times": ["rule"],
}
"""Table name -> the columns that together identify one row."""

TABLE_VALUES: dict[str, list[str]] = {
    "claims": ["reported", "measured", "ci_low", "ci_high", "verdict"],
    "probes": ["J&F", "delta_J&F", "mean_delta_J&F", "ci_low", "ci_high"],
    "scm_gates": ["gate_inside", "gate_outside"],
    "accuracy": ["J&F-Mean", "J-Mean", "F-Mean"],
    "accuracy_summary": ["J&F-Mean", "J-Mean", "F-Mean", "n_seeds"],
    "per_sequence": ["J&F-Mean", "J-Mean", "F-Mean"],
    "per_attribute": ["J&F-Mean"],
    "training_loss": ["loss"],
    "validation": ["J&F"],
    "runs": ["run_hash"],
    "speed": ["seconds_per_frame", "memory_bytes"],
    "memory_vs_t": ["memory_bytes"],
    "train_speed": ["seconds_per_iteration"],
    "rule_times": ["wall_s", "cpu_s"],
}
"""Table name -> the value columns its readers use."""


OURS_SETTING = "this suite's config"
"""speed.csv's ``setting`` of this suite's own variants; any other value is a peer's (methods.peers)."""

TIMING_MODES = {True: "from t frames", False: "successive from t frames"}
"""speed.csv's ``timing_mode`` by whether the engine's snapshot is an exact copy: each timed step from the
t-frame state, or successive steps from it (t + i frames in round i) for a state that cannot be copied."""


def is_successive(value) -> bool:
    """Whether a speed.csv ``timing_mode`` cell says the method was timed in successive steps."""
    return value == TIMING_MODES[False]


def is_flagged(value) -> bool:
    """Whether a speed.csv ``timing_flag`` cell names a failed check (read back, an empty flag is NaN)."""
    return isinstance(value, str) and bool(value)


def read_results_table(path: str | Path, name: str | None = None) -> pd.DataFrame | None:
    """A results CSV checked for its columns and for keys that repeat; None when the file is missing or
    holds no rows. ``name`` (default: the file's stem) picks the table's layout."""
    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read as CSV ({str(err).strip().splitlines()[0]})") from None
    if frame.empty:
        return None
    check_table(frame, name, path)
    return frame


def check_table(frame: pd.DataFrame, name: str, path: str | Path | None = None) -> None:
    """DataError naming ``path`` if ``frame`` lacks a column of table ``name`` or repeats a key."""
    keys, values = TABLE_KEYS[name], TABLE_VALUES[name]
    missing = [column for column in [*keys, *values] if column not in frame.columns]
    if missing:
        raise DataError(path, f"results table {name!r} lacks column(s) {', '.join(missing)} (results/README.md "
                              "lists its columns); regenerate it rather than editing it")
    repeated = frame[frame.duplicated(keys, keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        key = ", ".join(f"{column}={first[column]}" for column in keys)
        raise DataError(path, f"{len(repeated)} rows share a key that must appear once ({key}): conflicting or "
                              "duplicated rows; regenerate the table rather than choosing one")
