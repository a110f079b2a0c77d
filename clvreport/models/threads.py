"""Independent blocks of NumPy work on a few threads, results in order.

NumPy's and SciPy's loops release the GIL, so the chunks of the customer ranges
(:mod:`clvreport.models.scoring`) and the blocks of the holdout intervals
(:func:`~clvreport.models.predictive.holdout_intervals`) run side by side on the
machine's cores; the results come back in the order of the blocks, so every sum
over them is added up in the same order and the figures are bit for bit those of
one thread.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["THREADS", "beside", "in_order"]

_T = TypeVar("_T")
_I = TypeVar("_I")

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
THREADS = max(1, min(4, _CORES or 1))
"""Blocks computed at once: the cores this process may use, at most four."""


def in_order(work: Callable[[_I], _T], items: Sequence[_I]) -> Iterator[_T]:
    """``work`` of every item, yielded in order, :data:`THREADS` items at a time.

    At most that many results are computed ahead of the one being consumed, so
    the memory is that of a few blocks, not of all of them.

    Examples
    --------
    >>> list(in_order(lambda k: k * k, [1, 2, 3, 4]))
    [1, 4, 9, 16]
    """
    threads = THREADS
    if threads <= 1 or len(items) <= 1:
        for item in items:
            yield work(item)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending = deque(pool.submit(work, item) for item in items[:threads])
        following = iter(items[threads:])
        while pending:
            result = pending.popleft().result()
            for item in following:
                pending.append(pool.submit(work, item))
                break
            yield result


def beside(work: Callable[[], _T]) -> Future[_T]:
    """``work`` started now on a thread of its own; its result (or error) from the future.

    For a single-threaded step that needs nothing the caller computes next, so the two
    run side by side on the machine's cores. The thread does not keep the process
    alive past its work, and ``result()`` raises what ``work`` raised.

    Examples
    --------
    >>> later = beside(lambda: sum(range(10)))
    >>> later.result()
    45
    """
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)  # the submitted work still runs to its end
