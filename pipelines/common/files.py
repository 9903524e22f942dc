"""What every layer may use to touch the file system safely: the error type for bad input and outputs
written so that nothing is ever half-written, silently replaced or left unreadable to the group.

- ``DataError(path, problem)``: bad or missing input (or an output that cannot be written); every CLI
  prints it as ``error: <path>: <problem>`` and exits 2.
- ``atomic_save(path, save)``: a file appears whole or not at all (temp file beside it, then rename),
  with the permissions the user's umask gives any new file.
- ``OutputFolder``: a folder written beside its target and renamed into place when complete, under an
  ``OutputLock``. It never replaces a non-empty folder the suite did not write (``MARKER`` inside) unless
  ``overwrite`` is asked for; and whatever ``overwrite`` says, never a folder another step of the suite
  wrote (the marker names the step), a folder that is, contains or lies inside one of the inputs, the
  working directory or any folder above it, the home folder, or a folder holding a git repository.
- ``OutputLock``: one writer per output at a time; a second one is refused at once, naming the holder.
- ``check_output_folder`` / ``check_output_file``: the checks of an output path, made before any work.
- ``inside_root``: a path built from a name read in a data file, checked to stay inside its root.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

MARKER = ".gvos-suite-output"
"""File inside every folder the suite's CLIs write; its ``step:`` line names the step that wrote it, and
only that step may replace or empty the folder."""
_MARKER_TEXT = "written by the GVOS-SCM suite's {step} step; only that step may replace it\nstep: {step}\n"
UNKNOWN_STEP = "unknown"
"""The step of a marker that names none (written before markers named their step)."""


class DataError(ValueError):
    """Bad or missing input. ``str(err)`` names the offending path and what is wrong with it."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permissions the user's umask gives a new file (mkstemp would give 0600)."""
    return 0o666 & ~_umask()


def new_folder_mode() -> int:
    """Permissions the user's umask gives a new folder (mkdtemp would give 0700)."""
    return 0o777 & ~_umask()


_HOST = socket.gethostname().replace(".", "_")


def _temp_prefix(path: Path) -> str:
    """``.<name>.<host>-<pid>.``: whose temporary this is, so a later run can tell a dead writer's."""
    return f".{path.name}.{_HOST}-{os.getpid()}."


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` (files or folders beside it) left by a writer of this host that
    no longer runs (a kill -9); returns what was removed. Live writers' and other hosts' are kept."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.{re.escape(_HOST)}-(\d+)\..*\.(tmp|old)")
    removed = []
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if not match or _process_alive(int(match.group(1))):
            continue
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() and not entry.is_symlink() else entry.unlink(
            missing_ok=True)
        removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _naming_the_file(err: BaseException, path: Path) -> OSError | None:
    """The disk-full or file-size error ``err`` as an OSError naming ``path`` (torch.save and pandas do not
    name it; torch.save's zip writer says "unexpected pos" / "file write failed"), or None if it is another."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) and not err.filename:
        return OSError(err.errno, os.strerror(err.errno), str(path))
    if isinstance(err, RuntimeError) and ("unexpected pos" in str(err) or "file write failed" in str(err)):
        return OSError(errno.ENOSPC, "could not write the whole file (disk full or file too large?)", str(path))
    return None


def atomic_save(path: str | Path, save: Callable[[str], object]) -> None:
    """Call ``save(tmp_path)`` then rename over ``path``, so readers never see half a file. A full disk
    is an OSError naming ``path``; the earlier file stays as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        named = _naming_the_file(err, path)
        if named is not None:
            raise named from err
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_save(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def written_by_suite(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def marker_step(folder: Path) -> str | None:
    """The step named in ``folder``'s marker; ``UNKNOWN_STEP`` for a marker naming none; None without one."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        text = marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return UNKNOWN_STEP
    for line in text.splitlines():
        if line.startswith("step:"):
            return line.removeprefix("step:").strip() or UNKNOWN_STEP
    return UNKNOWN_STEP


def write_marker(folder: Path, step: str) -> None:
    marker = Path(folder) / MARKER
    marker.write_text(_MARKER_TEXT.format(step=step), encoding="utf-8")
    os.chmod(marker, new_file_mode())


def _holds_repository(folder: Path) -> bool:
    """A ``.git`` in the folder or in one of its sub-folders: a checkout (or a folder of checkouts)."""
    if (folder / ".git").exists():
        return True
    try:
        return any((child / ".git").exists() for child in folder.iterdir()
                   if child.is_dir() and not child.is_symlink())
    except OSError:
        return False


def protected_reason(folder: Path) -> str | None:
    """Why ``folder`` must never be replaced or emptied by the suite, or None. Checked on the resolved
    path: the working directory or a folder above it (``--out .``, ``--out ..``), the home folder, the
    file-system root, a folder holding a git repository."""
    real = Path(folder).resolve()
    cwd = Path.cwd().resolve()
    if _is_within(cwd, real):
        return "is the working directory" if real == cwd else "holds the working directory"
    if real == Path(real.anchor) or real == Path.home().resolve():
        return "is the file-system root" if real == Path(real.anchor) else "is the home folder"
    if real.is_dir() and _holds_repository(real):
        return "holds a git repository"
    return None


def inside_root(root: str | Path, name: str, what: str, source: str | Path | None = None) -> Path:
    """``root / name`` for a ``name`` read from a data file (a sequence, a frame), refused (DataError naming
    ``source``) unless it is one plain path component: not empty, no ``..`` or leading dot, no separator,
    not absolute. Such a name cannot lead outside ``root`` (a symlink the user put inside a dataset is
    theirs to follow)."""
    problem = None
    if not name or name.startswith("."):
        problem = "is empty or starts with a dot (.. would lead outside its folder)"
    elif "/" in name or "\\" in name or os.sep in name or "\0" in name:
        problem = "holds a path separator"
    if problem is not None:
        raise DataError(source, f"{what} {name!r} {problem}; names must be plain folder or file names")
    return Path(root) / name


def _writable_parent(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DataError(path, f"{flag}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise DataError(path, f"{flag}: cannot write here ({ancestor} is not writable)")


def check_output_file(path: str | Path, flag: str = "--out") -> Path:
    """An output file: not an existing folder, inside a folder we may write. Returns the resolved path."""
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise DataError(path, f"{flag}: is a folder, expected a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise DataError(path, f"{flag}: the file exists and is not writable")
    _writable_parent(path, flag)
    return path


def check_output_folder(path: str | Path, inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
                        flag: str = "--out", replace: bool = True, step: str | None = None) -> Path:
    """Check, before any work, that ``path`` may receive the output folder; returns the resolved path.

    Refused: an existing file; a folder that is, contains or lies inside one of ``inputs`` (after resolving
    symlinks and ``..`` on both sides); an unwritable place. When ``replace`` (the folder is replaced as a
    whole) or ``step`` is given (the step may empty its own folder), also the protected folders
    (``protected_reason``) and a folder another step wrote, whatever ``overwrite`` says; and, when
    ``replace``, a non-empty folder without the suite's marker unless ``overwrite``. With
    ``replace=False`` the caller only adds its own named files to the folder.
    """
    path = Path(os.path.abspath(Path(path).expanduser()))
    if path.exists() and not path.is_dir():
        raise DataError(path, f"{flag}: exists and is not a folder")
    real = path.resolve()  # symlinks and '..' resolved on both sides: a link to a dataset is the dataset
    for item in inputs:
        if item is None:
            continue
        source = Path(item).expanduser().resolve()
        if _is_within(source, real) or _is_within(real, source):
            what = "is" if source == real else "contains" if _is_within(source, real) else "is inside"
            raise DataError(path, f"{flag}: {what} the input {source}; choose another output folder "
                                  "(--overwrite never allows this)")
    if replace or step is not None:
        reason = protected_reason(path)
        if reason is not None:
            raise DataError(path, f"{flag}: {reason}; the suite never replaces or empties such a folder "
                                  "(--overwrite never allows this); choose a new folder for the output")
        owner = marker_step(path) if path.is_dir() else None
        if step is not None and owner is not None and owner != step:
            written = ("by an earlier version of the suite (its step unknown)" if owner == UNKNOWN_STEP
                       else f"by the suite's {owner} step")
            raise DataError(path, f"{flag}: this folder was written {written}, not by {step}; refusing to "
                                  "replace it (--overwrite never allows this); choose another output folder, "
                                  "or delete it yourself if it is no longer needed")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise DataError(path, f"{flag}: the folder is not writable")
        if replace and any(path.iterdir()) and not written_by_suite(path) and not overwrite:
            raise DataError(path, f"{flag}: the folder is not empty and was not written by this suite "
                                  f"(no {MARKER}); refusing to replace it (pass --overwrite to replace it anyway)")
        if replace:
            _writable_parent(path, flag)  # the rename needs the parent
    else:
        _writable_parent(path, flag)
    return path


class OutputLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside an output, held until ``release``: a second
    process writing the same output is refused at once (DataError naming the holder), instead of both
    writing and one run being lost. The lock file is removed on release."""

    def __init__(self, target: str | Path, flag: str = "--out"):
        self.fd: int | None = None
        target = Path(target)
        self.path = target.parent / f".{target.name}.lock"
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, new_file_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise DataError(target, f"{flag}: another process ({holder}) is writing this output now; "
                                        "wait for it to finish or choose another output") from None
            try:  # the previous holder may have removed the file between our open and our lock
                current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"host {socket.gethostname()}, pid {os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # before unlocking: a waiter then sees the file gone and retries
        os.close(self.fd)
        self.fd = None

    def __del__(self):
        self.release()


class OutputFolder:
    """Build a folder beside ``target`` and rename it into place on success (``with`` block).

    ``check_output_folder`` is applied when constructed, before any work, and again on entering the block,
    under the output's lock, which is held until the block ends. Inside the block, write into ``self.path``; on a clean exit an existing target is moved aside and deleted only
    after the new folder is in place; on an exception the partial folder is removed and the target is
    left as it was. ``step`` names the command in the folder's marker.
    """

    def __init__(self, target: str | Path, inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
                 flag: str = "--out", *, step: str):
        self.checks = {"inputs": list(inputs), "overwrite": overwrite, "flag": flag, "step": step}
        self.target = check_output_folder(target, **self.checks)
        self.step = step
        self.lock: OutputLock | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        self.lock = OutputLock(self.target, self.checks["flag"])
        try:
            check_output_folder(self.target, **self.checks)  # what another writer may have left meanwhile
        except BaseException:
            self.lock.release()
            raise
        remove_stale_temps(self.target)
        self.path = Path(tempfile.mkdtemp(prefix=_temp_prefix(self.target), suffix=".tmp", dir=self.target.parent))
        os.chmod(self.path, new_folder_mode())
        write_marker(self.path, self.step)
        return self.path

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.path is not None
        try:
            if exc_type is not None:
                shutil.rmtree(self.path, ignore_errors=True)
                named = _naming_the_file(exc, self.target)
                if named is not None:
                    raise named from exc
                return
            if self.target.exists():
                old = Path(tempfile.mkdtemp(prefix=_temp_prefix(self.target), suffix=".old",
                                            dir=self.target.parent))
                os.rename(self.target, old / "replaced")
                os.rename(self.path, self.target)
                shutil.rmtree(old)
            else:
                os.rename(self.path, self.target)
        finally:
            assert self.lock is not None
            self.lock.release()


def make_folder(path: str | Path, step: str) -> Path:
    """mkdir -p with the umask's permissions, marked as written by ``step`` (a marker already there is
    kept: ``check_output_folder(step=...)`` has checked that it names the same step)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / MARKER).exists():
        write_marker(path, step)
    return path
