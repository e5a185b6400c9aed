"""backend/threads.py: one thread budget for BLAS and the kernels, fixed or chosen by timing the steps."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import cpu, threads


@pytest.fixture
def applied(monkeypatch):
    """Record the counts the tuner applies instead of changing this process's BLAS."""
    counts = []
    monkeypatch.setattr(threads, "_apply", counts.append)
    return counts


def run(tuner, step_seconds, steps, start=0.0):
    """Tick ``tuner`` ``steps`` times, each step taking step_seconds(count now in force); returns the clock."""
    now = start
    for _ in range(steps):
        now += step_seconds(tuner.current)
        tuner.tick(now)
    return now


def test_the_tuner_keeps_the_faster_count_and_looks_again(applied):
    """Two threads twice as fast: after trying one thread it goes back to two and holds; when the machine turns
    (one thread now the faster, as in a busy host's phases), the next comparison moves to one."""
    tuner = threads.Tuner((2, 1), min_steps=10, min_seconds=0.0, settle=2, hold=20.0, min_hold=1.0)
    fast_two = {2: 0.001, 1: 0.002}
    now = run(tuner, fast_two.get, 30)
    assert applied == [1, 2] and tuner.current == 2
    assert tuner.history[-1][1] == pytest.approx({2: 0.001, 1: 0.002}) and tuner.history[-1][2] == 2
    now = run(tuner, fast_two.get, 500, now)  # holding: nothing tried (the hold is >= 1 s)
    assert applied == [1, 2]
    busy = {2: 0.003, 1: 0.0015}
    run(tuner, busy.get, 2000, now)
    assert tuner.current == 1 and tuner.history[-1][2] == 1
    # the slower count ran for a small part of the time: each comparison is ~25 steps, each hold >= 1 s
    assert len(tuner.history) <= 6


def test_a_count_must_win_by_the_margin_to_take_over(applied):
    """Within 5 % the count that holds stays: noise does not flip the choice."""
    tuner = threads.Tuner((2, 1), min_steps=5, min_seconds=0.0, settle=0, margin=0.05)
    run(tuner, {2: 0.0100, 1: 0.0097}.get, 20)
    assert tuner.current == 2 and applied == [1, 2]


def test_the_median_step_is_the_score(applied):
    """A step that also saved a checkpoint (100 times as long) does not decide the count."""
    tuner = threads.Tuner((2, 1), min_steps=9, min_seconds=0.0, settle=0)
    times = iter([0.001] + [0.001] * 4 + [0.1] + [0.001] * 4 + [0.002] * 9)  # the first tick only starts the clock
    run(tuner, lambda count: next(times), 19)
    assert tuner.history[-1][1][2] == pytest.approx(0.001) and tuner.current == 2


def test_each_count_is_timed_for_a_minimum_time(applied):
    """Short steps are counted until min_seconds have passed, not just min_steps."""
    tuner = threads.Tuner((2, 1), min_steps=2, min_seconds=0.01, settle=0)
    run(tuner, lambda count: 0.001, 8)
    assert tuner.scores == {} and tuner.trying == 2
    run(tuner, lambda count: 0.001, 4, 0.008)
    assert 2 in tuner.scores


def test_choices_halve_down_to_one():
    assert threads._choices(2) == (2, 1)
    assert threads._choices(8) == (8, 4, 2, 1)
    assert threads._choices(1) == (1,)


def test_set_num_threads_sets_blas_and_the_kernels_and_refuses_nonsense():
    pytest.importorskip("threadpoolctl")
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1 and cpu._state["threads"] == 1
        a = np.ones((64, 64), np.float32)
        np.testing.assert_array_equal(a @ a, np.full((64, 64), 64, np.float32))
    finally:
        cr.set_num_threads(before)
    assert cr.get_num_threads() == before
    for bad in (0, -1, 1.5, "many", True):
        with pytest.raises(ValueError, match="set_num_threads: expected a whole number of threads >= 1 or 'auto'"):
            cr.set_num_threads(bad)


def test_auto_tunes_through_the_optimizers_steps(applied, monkeypatch):
    """set_num_threads('auto') on a 2-thread process: each optimizer step is one tick; a fixed count ends it."""
    monkeypatch.setitem(threads._state, "tuner", None)
    monkeypatch.setitem(threads._state, "default", 2)
    monkeypatch.setitem(threads._state, "controllers", [])
    cr.set_num_threads("auto")
    assert threads.tuning() and threads._state["tuner"].choices == (2, 1)
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    ticks = []
    monkeypatch.setattr(threads._state["tuner"], "tick", ticks.append)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert len(ticks) == 3 and ticks == sorted(ticks)
    cr.set_num_threads(2)
    assert not threads.tuning() and applied[-1] == 2


def test_a_bad_environment_value_warns_and_is_ignored(monkeypatch):
    monkeypatch.setitem(threads._state, "tuner", None)
    with pytest.warns(UserWarning, match="CHAINRULE_THREADS: expected a whole number >= 1 or 'auto', got 'lots'"):
        threads._from_environment("lots")
    assert not threads.tuning()
