"""The peak-memory monitor reads its own process tree, children and grandchildren included."""

from __future__ import annotations

import subprocess
import sys

import psutil

from clvreport.monitor import PeakMemory, tree_pids, tree_rss

_HOLD = """
import subprocess, sys, time
block = b"\x01" * (40 * 2**20)  # written, so resident before the pid is printed
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(grandchild.pid, flush=True)
time.sleep(60)
"""


def _spawn() -> tuple[subprocess.Popen, int]:
    child = subprocess.Popen([sys.executable, "-c", _HOLD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    return child, grandchild


def test_tree_has_children_and_grandchildren_like_psutil() -> None:
    child, grandchild = _spawn()
    try:
        pids = tree_pids()
        assert pids[0] == psutil.Process().pid
        assert {child.pid, grandchild} <= set(pids)
        expected = {psutil.Process().pid, *(p.pid for p in psutil.Process().children(True))}
        assert set(pids) == expected
        # the child holds 40 MiB of its own beyond this process (written before it printed)
        assert psutil.Process(child.pid).memory_info().rss >= 40 * 2**20
        rss = {pid: psutil.Process(pid).memory_info().rss for pid in pids}
        assert tree_rss() >= psutil.Process().memory_info().rss + 40 * 2**20
        assert abs(tree_rss() - sum(rss.values())) < 0.1 * sum(rss.values())
    finally:
        for proc in psutil.Process(child.pid).children(recursive=True):
            proc.kill()
        child.kill()
        child.wait()


def test_tree_of_a_process_that_is_gone_is_itself_with_no_memory() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert tree_pids(ended.pid) == [ended.pid]
    assert tree_rss(psutil.Process()) > 0


def test_peak_memory_sees_a_child_it_did_not_start_in_this_thread() -> None:
    child, _ = _spawn()
    try:
        # the child and its 40 MiB exist before the monitor starts; its samples (at entry
        # and exit at least) read the whole tree
        with PeakMemory(interval=0.01) as memory:
            pass
    finally:
        for proc in psutil.Process(child.pid).children(recursive=True):
            proc.kill()
        child.kill()
        child.wait()
    assert memory.peak_bytes >= psutil.Process().memory_info().rss + 40 * 2**20
