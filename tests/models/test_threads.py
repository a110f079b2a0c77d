"""in_order: blocks on threads, results in order, only a few computed ahead."""

from __future__ import annotations

import threading

import pytest

from clvreport.models import threads
from clvreport.models.threads import in_order


@pytest.mark.parametrize("count", [1, 2, 4])
def test_results_come_in_order_and_few_are_computed_ahead(monkeypatch, count) -> None:
    monkeypatch.setattr(threads, "THREADS", count)
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            started.append(item)
        return item * item

    for consumed, value in enumerate(in_order(work, list(range(40)))):
        assert value == consumed * consumed
        assert len(started) <= consumed + 1 + count  # memory of a few blocks, not all
    assert sorted(started) == list(range(40))


def test_an_error_in_a_block_reaches_the_caller(monkeypatch) -> None:
    monkeypatch.setattr(threads, "THREADS", 2)

    def work(item: int) -> int:
        if item == 5:
            raise ValueError("block 5")
        return item

    with pytest.raises(ValueError, match="block 5"):
        list(in_order(work, list(range(10))))


def test_work_beside_runs_on_another_thread_and_gives_its_result_or_error() -> None:
    from clvreport.models.threads import beside

    here = threading.get_ident()
    assert beside(threading.get_ident).result() != here
    assert beside(lambda: [1, 2]).result() == [1, 2]

    def fails() -> None:
        raise ValueError("beside")

    with pytest.raises(ValueError, match="beside"):
        beside(fails).result()
