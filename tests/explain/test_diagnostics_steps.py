"""The step-by-step diagnostics the playground shows: dead ReLU units, a vanishing gradient, a growing loss,
overfitting: each found where it is, and silent where all is well."""

import numpy as np

from chainrule.explain.diagnostics import dead_units, growing_loss, overfitting, vanishing_layer


def test_dead_units_are_zero_for_every_example():
    outputs = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [-0.0, 3.0, 0.0]])
    assert dead_units(outputs) == [0]
    assert dead_units(np.ones((4, 2))) == []


def test_a_vanishing_gradient_is_orders_below_the_last_layer():
    assert vanishing_layer([1e-7, 1e-3, 0.5]) == (0, np.log10(0.5 / 1e-7))
    assert vanishing_layer([0.01, 0.1, 0.5]) is None
    assert vanishing_layer([0.0, 0.1]) == (0, np.inf)
    assert vanishing_layer([0.1, 0.0]) is None  # no gradient at the end: nothing to compare with


def test_a_growing_loss_and_a_falling_one():
    rng = np.random.default_rng(0)
    falling = list(np.linspace(1.0, 0.2, 60) + rng.normal(0, 0.01, 60))
    assert growing_loss(falling) is None
    rising = [0.5] * 10 + list(np.linspace(0.5, 3.0, 40) + rng.normal(0, 0.01, 40))
    assert growing_loss(rising) == 30
    assert growing_loss([0.5, None, float("nan")] * 20) is None
    stuck = list(np.linspace(1.0, 0.4, 40)) + [6.05 + 0.01 * (k % 2) for k in range(40)]  # tanh at lr 10
    assert growing_loss(stuck) == 30


def test_overfitting_is_the_test_loss_rising_while_the_training_loss_falls():
    train = list(np.linspace(1.0, 0.1, 100))
    test = list(np.linspace(1.0, 0.5, 50)) + list(np.linspace(0.5, 0.8, 50))
    best, now = overfitting(train, test)
    assert best == min(test[:-30]) and now == test[-1]
    assert overfitting(train, list(np.linspace(1.0, 0.4, 100))) is None
    assert overfitting(list(np.linspace(0.1, 1.0, 100)), test) is None  # both rising: not overfitting
