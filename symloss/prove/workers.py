"""Worker processes that an interrupt takes down with their parent.

A pool worker runs in a process group of its own (``os.setpgrp`` as the pool's
initializer).  Two things follow.  The terminal's Ctrl-C, which goes to the
foreground process group, reaches only the parent, so no worker prints a
``KeyboardInterrupt`` traceback of its own.  And the parent can end a worker
together with every process the worker forked (the prover's budgeted children,
see :func:`symloss.prove.prover.run_with_budget`) by signalling that group.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_workers(function: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``function(x)`` for each ``x`` of ``items``, in order, computed in ``workers`` forked processes;
    each result is yielded as soon as it and all before it are done.

    The pool is shut down normally when the last result has been yielded.  When the iteration
    ends otherwise (an exception, Ctrl-C, or the caller closing the iterator early), the workers
    are killed together with every process they started, instead of the pending items being run
    to the end.  Futures are never cancelled from this thread: Python 3.11's executor raises
    ``InvalidStateError`` in its manager thread if it finds a cancelled future in a broken pool.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=os.setpgrp)
    try:
        futures = [pool.submit(function, item) for item in items]
        for future in futures:
            yield future.result()
    except BaseException:
        _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL each worker's process group: the worker and the processes it forked.

    A worker that has not yet reached its initializer has no group (and no children): it is
    killed alone.  The executor keeps its workers in ``_processes`` (pid → process), which has
    no public counterpart.
    """
    for process in list((pool._processes or {}).values()):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            process.kill()
