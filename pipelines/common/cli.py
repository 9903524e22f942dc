"""Shared command-line plumbing: one way to report bad input and exit non-zero, one way to show progress."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from tqdm import tqdm

from pipelines.common.files import DataError

log = logging.getLogger("gvos")

LOG_PROGRESS_INTERVAL_S = 30.0
"""How often a progress bar writes when stderr is a file (the workflow's logs), not a terminal."""


class _WholeLines:
    """tqdm's output for a log file, which has no cursor: each refresh one line of its own, so a log line
    written between two refreshes starts on a line of its own too (no carriage returns)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip("\n")
        if text.strip():
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable=None, **options) -> tqdm:
    """A tqdm bar on stderr: live on a terminal; into a log file one line at most every
    ``LOG_PROGRESS_INTERVAL_S`` seconds (plus the first and the last), where tqdm's default wrote every
    update: about 1500 a training run."""
    if not sys.stderr.isatty():
        options.setdefault("mininterval", LOG_PROGRESS_INTERVAL_S)
        options.setdefault("file", _WholeLines(sys.stderr))
    return tqdm(iterable, **options)


QUIET_LIBRARIES = ("fontTools",)
"""Libraries whose INFO lines say nothing a user acts on (fontTools: one line per glyph subset while
matplotlib embeds fonts in a PDF, 935 of the report job's 936 log lines): warnings and errors only."""


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run ``main(argv)``; turn bad input (DataError, ValueError) and file-system refusals (a file that
    cannot be read or written: OSError) into one line ``error: ...`` on stderr and exit 2."""
    setup_logging()
    try:
        code = main(argv)
    except (DataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        sys.exit(2)
    sys.exit(int(code or 0))
