"""Run independent evaluation tasks on several processes, keeping errors readable."""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipelines.cli import progress_bar
from pipelines.files import DataError


class _Failure:
    """A DataError crossing the process boundary (its constructor does not survive pickling)."""

    def __init__(self, err: DataError):
        self.path, self.problem = err.path, err.problem


def _call(job: tuple[Callable, Any]) -> Any:
    fn, task = job
    try:
        return fn(task)
    except DataError as err:
        return _Failure(err)


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: list,
    workers: int = 2,
    desc: str = "evaluating",
    while_waiting: Callable[[], Any] | None = None,
) -> Iterator[Any]:
    """Yield ``fn(task)`` for every task (in completion order when parallel).

    fn must be a module-level function. Uses fork on Linux so children start instantly.
    A DataError raised in a worker is re-raised here and stops the pool.
    while_waiting: called once in this process while the workers run (e.g. a slow import).
    """
    jobs: Iterable = ((fn, task) for task in tasks)
    if workers <= 1 or len(tasks) <= 1:
        with _progress(len(tasks), desc) as bar:
            for job in jobs:
                yield _checked(_call(job))
                bar.update()
        if while_waiting is not None:
            while_waiting()
        return
    method = "fork" if sys.platform.startswith("linux") else None
    # the pool forks before the progress bar starts its monitor thread
    with mp.get_context(method).Pool(min(workers, len(tasks))) as pool, _progress(len(tasks), desc) as bar:
        results = pool.imap_unordered(_call, jobs)
        if while_waiting is not None:
            while_waiting()
        for result in results:
            yield _checked(result)
            bar.update()


def _progress(total: int, desc: str):
    return progress_bar(total=total, desc=desc, unit="task", disable=None, leave=False)


def _checked(result: Any) -> Any:
    if isinstance(result, _Failure):
        raise DataError(result.path, result.problem)
    return result
