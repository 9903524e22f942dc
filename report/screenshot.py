"""The first screen of a report page as a PNG, taken by headless Chromium at the window size a reader
has (1300x900 by default): what docs/default-run/first-screen.png shows.

    python -m report.screenshot report/build/index.html docs/default-run/first-screen.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError, atomic_save, check_output_file

WINDOW = (1300, 900)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
"""A fresh headless Chromium that fetches nothing: with --user-data-dir and --window-size, how the suite
renders its page (here, and in the tests that measure its tables)."""


def find_chromium() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium() -> str:
    if found := find_chromium():
        return found
    raise DataError(None, f"no Chromium on PATH (tried {', '.join(CHROMIUM_NAMES)}; Debian: apt install chromium)")


def first_screen(page: Path, out: Path, window: tuple[int, int] = WINDOW) -> None:
    """Render ``page`` in a fresh headless profile, nothing fetched from the network, and save the window."""
    with tempfile.TemporaryDirectory() as scratch:
        shot = Path(scratch) / "screen.png"  # Chromium picks the format from the name
        run = subprocess.run([chromium(), *HEADLESS_FLAGS, "--hide-scrollbars", f"--user-data-dir={Path(scratch) / 'profile'}",
                              f"--window-size={window[0]},{window[1]}", "--virtual-time-budget=5000",
                              f"--screenshot={shot}", page.resolve().as_uri()],
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0 or not shot.is_file() or shot.stat().st_size == 0:
            raise DataError(page, f"Chromium made no screenshot: {run.stderr.strip()[-500:]}")
        atomic_save(out, lambda tmp: shutil.copyfile(shot, tmp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report.screenshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the report page (report/build/index.html)")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--window", type=int, nargs=2, default=WINDOW, metavar=("WIDTH", "HEIGHT"),
                        help="the browser window in pixels (default: 1300 900)")
    args = parser.parse_args(argv)
    if not args.page.is_file():
        raise DataError(args.page, "no such page: run make report (or make figures) first")
    out = check_output_file(args.out)
    first_screen(args.page, out, tuple(args.window))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
