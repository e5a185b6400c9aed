"""backend/threads.py: one thread budget for BLAS and the kernels, fixed or chosen by timing the steps."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import blas, conv, cpu, threads


@pytest.fixture
def applied(monkeypatch):
    """Record the choices the tuner applies instead of changing this process's BLAS."""
    counts = []
    monkeypatch.setattr(threads, "_apply", counts.append)
    return counts


def run(tuner, step_seconds, steps, start=0.0):
    """Tick ``tuner`` ``steps`` times, each step taking step_seconds(the choice in force); returns the clock."""
    now = start
    for _ in range(steps):
        now += step_seconds(tuner.current)
        tuner.tick(now)
    return now


BLAS2, OWN2, ONE = ("blas", 2), ("own", 2), ("blas", 1)


def test_the_tuner_keeps_the_fastest_choice_and_looks_again(applied):
    """OpenBLAS's two threads twice as fast as one, chainrule's own between: after trying the others it goes back to
    BLAS's and holds; when the machine turns (one thread now the fastest, as in a busy host's phases), the next
    comparison moves to one."""
    tuner = threads.Tuner((BLAS2, OWN2, ONE), min_steps=10, min_seconds=0.0, settle=2, settle_seconds=0.0)
    fast = {BLAS2: 0.001, OWN2: 0.0015, ONE: 0.002}
    now = run(tuner, fast.get, 40)
    assert applied == [OWN2, ONE, BLAS2] and tuner.current == BLAS2
    assert tuner.history[-1][1] == pytest.approx(fast) and tuner.history[-1][2] == BLAS2
    now = run(tuner, fast.get, 1000, now)  # holding (>= 2 s): nothing tried
    assert applied == [OWN2, ONE, BLAS2]
    busy = {BLAS2: 0.003, OWN2: 0.0025, ONE: 0.0015}
    run(tuner, busy.get, 4000, now)
    assert tuner.current == ONE and tuner.history[-1][2] == ONE
    # the slower choices ran for a small part of the time: each comparison is ~40 steps, each hold >= 2 s
    assert len(tuner.history) <= 6


def test_a_switch_settles_for_a_while_before_it_is_timed(applied):
    """The first steps after a switch (OpenBLAS's threads still spinning) do not count: settle_seconds."""
    tuner = threads.Tuner((BLAS2, ONE), min_steps=3, min_seconds=0.0, settle=0, settle_seconds=0.25)
    now = run(tuner, lambda choice: 0.1, 3)  # 0.2 s of steps after the first: still settling
    assert tuner.samples == [] and tuner.trying == BLAS2
    run(tuner, lambda choice: 0.1, 4, now)
    assert tuner.samples or BLAS2 in tuner.scores


def test_a_count_must_win_by_the_margin_to_take_over(applied):
    """Within 5 % the count that holds stays: noise does not flip the choice."""
    tuner = threads.Tuner((BLAS2, ONE), min_steps=5, min_seconds=0.0, settle=0, settle_seconds=0.0, margin=0.05)
    run(tuner, {BLAS2: 0.0100, ONE: 0.0097}.get, 20)
    assert tuner.current == BLAS2 and applied == [ONE, BLAS2]


def test_the_median_step_is_the_score(applied):
    """A step that also saved a checkpoint (100 times as long) does not decide the count."""
    tuner = threads.Tuner((BLAS2, ONE), min_steps=9, min_seconds=0.0, settle=0, settle_seconds=0.0)
    times = iter([0.001] + [0.001] * 4 + [0.1] + [0.001] * 4 + [0.002] * 9)  # the first tick only starts the clock
    run(tuner, lambda choice: next(times), 19)
    assert tuner.history[-1][1][BLAS2] == pytest.approx(0.001) and tuner.current == BLAS2


def test_each_count_is_timed_for_a_minimum_time(applied):
    """Short steps are counted until min_seconds have passed, not just min_steps."""
    tuner = threads.Tuner((BLAS2, ONE), min_steps=2, min_seconds=0.01, settle=0, settle_seconds=0.0)
    run(tuner, lambda choice: 0.001, 8)
    assert tuner.scores == {} and tuner.trying == BLAS2
    run(tuner, lambda choice: 0.001, 4, 0.008)
    assert BLAS2 in tuner.scores


def test_choices_halve_down_to_one_each_as_blas_and_as_chainrules_own():
    assert threads._choices(2) == (BLAS2, OWN2, ONE)
    assert [count for _, count in threads._choices(8)] == [8, 8, 4, 4, 2, 2, 1]
    assert threads._choices(1) == (ONE,)


def test_set_num_threads_sets_blas_and_the_kernels_and_refuses_nonsense():
    pytest.importorskip("threadpoolctl")
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1 and blas.get_threads() == 1 and cpu._state["threads"] == 1
        a = np.ones((64, 64), np.float32)
        np.testing.assert_array_equal(a @ a, np.full((64, 64), 64, np.float32))
        threads._apply(("own", 2))  # chainrule's own threads: OpenBLAS on one, the convolutions' blocks on two
        assert blas.get_threads() == 1 and conv._threads["blocks"] == 2 and cr.get_num_threads() == 2
    finally:
        cr.set_num_threads(before)
    assert cr.get_num_threads() == before and blas.get_threads() == before and conv._threads["blocks"] == 1
    for bad in (0, -1, 1.5, "many", True):
        with pytest.raises(ValueError, match="set_num_threads: expected a whole number of threads >= 1 or 'auto'"):
            cr.set_num_threads(bad)


def test_auto_tunes_through_the_optimizers_steps(applied, monkeypatch):
    """set_num_threads('auto') on a 2-thread process: each optimizer step is one tick; a fixed count ends it."""
    monkeypatch.setitem(threads._state, "tuner", None)
    monkeypatch.setattr(blas, "default_threads", lambda: 2)
    monkeypatch.setattr(blas, "available", lambda: True)
    cr.set_num_threads("auto")
    assert threads.tuning() and threads._state["tuner"].choices == (BLAS2, OWN2, ONE)
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
    assert not threads.tuning() and applied[-1] == BLAS2


def test_a_bad_environment_value_warns_and_is_ignored(monkeypatch):
    monkeypatch.setitem(threads._state, "tuner", None)
    with pytest.warns(UserWarning, match="CHAINRULE_THREADS: expected a whole number >= 1 or 'auto', got 'lots'"):
        threads._from_environment("lots")
    assert not threads.tuning()


def test_auto_after_a_fixed_count_starts_from_the_processs_own(applied, monkeypatch):
    """set_num_threads(1) then "auto": the first choice timed is the process's own count, really applied."""
    monkeypatch.setitem(threads._state, "tuner", None)
    monkeypatch.setitem(threads._state, "mode", ONE)
    monkeypatch.setattr(blas, "default_threads", lambda: 2)
    monkeypatch.setattr(blas, "available", lambda: True)
    cr.set_num_threads("auto")
    assert applied == [BLAS2] and threads._state["tuner"].current == BLAS2


@pytest.fixture
def recorded(monkeypatch):
    """Like ``applied``, but the mode is kept as _apply keeps it (nothing reaches this process's BLAS)."""
    counts = []

    def apply(choice):
        counts.append(choice)
        threads._state["mode"] = choice

    monkeypatch.setattr(threads, "_apply", apply)
    monkeypatch.setitem(threads._state, "tuner", None)
    monkeypatch.setitem(threads._state, "mode", None)
    monkeypatch.setattr(blas, "default_threads", lambda: 2)
    monkeypatch.setattr(blas, "get_threads", lambda: 2)
    monkeypatch.setattr(blas, "available", lambda: True)
    return counts


def convolve():
    x = cr.tensor(np.ones((2, 1, 6, 6), np.float32), requires_grad=True)
    cr.nn.functional.conv2d(x, cr.tensor(np.ones((3, 1, 3, 3), np.float32)), padding=1).sum().backward()


def test_a_fixed_budget_moves_to_chainrules_own_threads_at_the_first_convolution(recorded):
    """Two threads, set or the process's own: the first convolution on the CPU shares the cores out as
    convolutions use them best, and it stays so (by the program, not a clock) until the count is set again."""
    cr.nn.functional.linear(cr.tensor(np.ones((2, 3), np.float32)), cr.tensor(np.ones((4, 3), np.float32)))
    assert recorded == []  # products alone keep OpenBLAS's threads
    convolve()
    convolve()
    assert recorded == [OWN2] and cr.get_num_threads() == 2
    cr.set_num_threads(2)
    assert recorded[-1] == BLAS2
    convolve()
    assert recorded == [OWN2, BLAS2, OWN2]


def test_one_thread_and_auto_are_left_as_they_are(recorded, monkeypatch):
    cr.set_num_threads(1)
    convolve()
    assert recorded == [ONE]
    monkeypatch.setitem(threads._state, "tuner", object())  # "auto" is choosing: it times both ways itself
    monkeypatch.setitem(threads._state, "mode", BLAS2)
    convolve()
    assert recorded == [ONE]


def test_without_a_settable_blas_nothing_moves(recorded, monkeypatch):
    monkeypatch.setattr(blas, "available", lambda: False)
    convolve()
    assert recorded == []


def test_openblas_limited_by_the_user_is_the_budget(recorded, monkeypatch):
    """No count set here, but OpenBLAS already on one thread (threadpoolctl, OPENBLAS_NUM_THREADS): kept so."""
    monkeypatch.setattr(blas, "get_threads", lambda: 1)
    convolve()
    assert recorded == []
