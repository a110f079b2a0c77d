"""Peak memory of a step: resident memory of this process and its children, sampled.

``clvreport report`` prints each step's time and peak memory; the scale
benchmark records the same per step. The notebook runs in a kernel process and
the renderers may start subprocesses, so the whole process tree is measured.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import psutil

__all__ = ["PeakMemory", "tree_rss"]


def tree_rss(process: psutil.Process | None = None) -> int:
    """Resident memory in bytes of ``process`` (default: this one) and all its descendants.

    Examples
    --------
    >>> tree_rss() > 0
    True
    """
    process = process or psutil.Process()
    total = 0
    for proc in (process, *process.children(recursive=True)):
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


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
