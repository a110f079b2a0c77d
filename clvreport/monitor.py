"""Peak memory of a step: resident memory of this process and its children, sampled.

``clvreport report`` prints each step's time and peak memory; the scale
benchmark records the same per step. The notebook runs in a kernel process and
the renderers may start subprocesses, so the whole process tree is measured.

The tree is found through Linux's ``/proc/<pid>/task/<tid>/children`` (only
this process' own descendants are read, not every process on the machine);
elsewhere through psutil, which scans all processes.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

import psutil

__all__ = ["PeakMemory", "tree_pids", "tree_rss"]


_PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _lists_children() -> bool:
    """Whether the kernel lists each task's children (Linux with ``CONFIG_PROC_CHILDREN``)."""
    return (_PROC / "self" / "task" / str(threading.get_native_id()) / "children").exists()


_LISTS_CHILDREN = _lists_children()


def _proc_children(pid: int) -> list[int]:
    """Direct children of ``pid`` from ``/proc`` (none when it has gone)."""
    children: list[int] = []
    try:
        for task in (_PROC / str(pid) / "task").iterdir():
            children.extend(int(c) for c in (task / "children").read_text().split())
    except (OSError, ValueError):  # the process or one of its threads ended meanwhile
        pass
    return children


def tree_pids(pid: int | None = None) -> list[int]:
    """``pid`` (default: this process) and all its descendants.

    Reads only the process' own tree under ``/proc`` on Linux; elsewhere asks
    psutil (which scans every process).

    Examples
    --------
    >>> tree_pids()[0] == os.getpid()
    True
    """
    root = os.getpid() if pid is None else pid
    if not _LISTS_CHILDREN:
        try:
            return [root, *(p.pid for p in psutil.Process(root).children(recursive=True))]
        except psutil.NoSuchProcess:
            return [root]
    out, pending = [root], [root]
    while pending:
        children = _proc_children(pending.pop())
        out.extend(children)
        pending.extend(children)
    return out


def _rss(pid: int) -> int:
    """Resident memory of ``pid`` in bytes (0 when it has gone)."""
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        try:
            return psutil.Process(pid).memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0


def tree_rss(process: psutil.Process | None = None) -> int:
    """Resident memory in bytes of ``process`` (default: this one) and all its descendants.

    Examples
    --------
    >>> tree_rss() > 0
    True
    """
    return sum(_rss(pid) for pid in tree_pids(None if process is None else process.pid))


class PeakMemory:
    """Context manager sampling the process tree's resident memory in a background thread.

    Parameters
    ----------
    interval
        Seconds between samples. Short peaks between samples are missed, so
        the value is a lower bound on the true peak (close to it for steps
        that hold memory for longer than a few intervals).

    Attributes
    ----------
    peak_bytes
        The largest sample (including one at entry and one at exit).

    Examples
    --------
    >>> with PeakMemory() as memory:
    ...     block = bytearray(50 * 2**20)
    >>> memory.peak_bytes >= 50 * 2**20
    True
    >>> memory.peak_mib > 50
    True
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def peak_mib(self) -> float:
        """The peak in MiB."""
        return self.peak_bytes / 2**20

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, tree_rss())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="clvreport-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        time.sleep(0)  # let the sampler thread go before the caller reads the value
