"""SingleInstance: one lock per state directory; a second launch wakes the first."""

from __future__ import annotations

from desktop.single_instance import SingleInstance


def test_second_launch_wakes_the_first(qtbot, tmp_path):
    first = SingleInstance(tmp_path)
    assert first.acquire() and first.is_primary
    second = SingleInstance(tmp_path)
    with qtbot.waitSignal(first.activated, timeout=5000):
        assert not second.acquire()
    assert not second.is_primary
    first.release()
    third = SingleInstance(tmp_path)  # the lock is free again after a normal exit
    assert third.acquire()
    third.release()


def test_separate_homes_do_not_see_each_other(tmp_path):
    a = SingleInstance(tmp_path / "a")
    b = SingleInstance(tmp_path / "b")
    try:
        assert a.acquire() and b.acquire()
        assert a.name != b.name
    finally:
        a.release()
        b.release()
