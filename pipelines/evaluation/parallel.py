"""Run independent evaluation tasks on several processes, keeping errors readable."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.common.cli import progress_bar
from pipelines.common.files import DataError


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
    if workers <= 1 or len(tasks) <= 1:
        with _progress(len(tasks), desc) as bar:
            for task in tasks:
                yield _checked(_call((fn, task)))
                bar.update()
        if while_waiting is not None:
            while_waiting()
        return
    processes = min(workers, len(tasks))
    stop = threading.Event()
    in_flight = threading.Semaphore(2 * processes)

    def jobs() -> Iterator[tuple[Callable, Any]]:
        """Consumed by the pool's feeding thread: at most two tasks per process handed out at a time,
        none once ``stop`` is set."""
        for task in tasks:
            in_flight.acquire()
            if stop.is_set():
                return
            yield fn, task

    method = "fork" if sys.platform.startswith("linux") else None
    # the pool forks before the progress bar starts its monitor thread
    with mp.get_context(method).Pool(processes) as pool, _progress(len(tasks), desc) as bar:
        results = pool.imap_unordered(_call, jobs())
        try:
            if while_waiting is not None:
                while_waiting()
            for result in results:
                in_flight.release()
                yield _checked(result)
                bar.update()
        except KeyboardInterrupt:
            raise
        except BaseException:
            # a failed task, or the caller stopped early: hand out no more tasks and let the few already
            # handed out finish before the pool is terminated. Terminating it while its feeding thread
            # still puts tasks can leave that thread waiting on the queue's lock, and the pool's exit
            # waiting on that thread, forever (seen once in a test run: the evaluation never returned).
            stop.set()
            in_flight.release()  # wakes the feeding thread if it waits for a slot; it sees stop and ends
            with contextlib.suppress(Exception):  # the first error is the one to report
                for _ in results:
                    pass
            raise


def _progress(total: int, desc: str):
    return progress_bar(total=total, desc=desc, unit="task", disable=None, leave=False)


def _checked(result: Any) -> Any:
    if isinstance(result, _Failure):
        raise DataError(result.path, result.problem)
    return result
