"""Random draws: each sampler against its probabilities by a chi-squared test (fixed seeds, so the tests
are deterministic; the critical values are those of p = 0.001), generators reproducible across processes
and independent of the global seed, and every consumer of ``generator=``."""

import json
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset

CHI2_CRITICAL = {1: 10.83, 3: 16.27, 4: 18.47}  # chi-squared at p = 0.001, by degrees of freedom


def chi_squared(counts, probabilities) -> float:
    expected = np.asarray(probabilities) * np.sum(counts)
    return float(np.sum((np.asarray(counts) - expected) ** 2 / expected))


def test_multinomial_with_replacement_follows_the_weights():
    weights = cr.tensor([1.0, 2.0, 3.0, 4.0])  # unnormalised on purpose
    drawn = cr.multinomial(weights, 20000, replacement=True, generator=cr.Generator().manual_seed(1))
    counts = np.bincount(drawn.numpy(), minlength=4)
    assert chi_squared(counts, [0.1, 0.2, 0.3, 0.4]) < CHI2_CRITICAL[3]


def test_multinomial_rows_draw_from_their_own_weights():
    weights = cr.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]], dtype=cr.float64)
    drawn = cr.multinomial(weights, 10000, replacement=True, generator=cr.Generator().manual_seed(2)).numpy()
    assert drawn.shape == (2, 10000)
    assert chi_squared(np.bincount(drawn[0], minlength=3), [0.7, 0.2, 0.1]) < 13.82  # 2 degrees of freedom
    assert not np.any(drawn[1] == 0)
    assert chi_squared(np.bincount(drawn[1], minlength=3)[1:], [0.5, 0.5]) < CHI2_CRITICAL[1]


def test_multinomial_without_replacement_draws_in_sequence():
    """Without replacement, the first draw follows p and the second P(j) = sum_i p_i p_j / (1 - p_i), i != j."""
    p = np.array([0.1, 0.2, 0.3, 0.4])
    weights = cr.tensor(np.tile(p, (20000, 1)))
    drawn = cr.multinomial(weights, 2, generator=cr.Generator().manual_seed(3)).numpy()
    assert np.all(drawn[:, 0] != drawn[:, 1])
    assert chi_squared(np.bincount(drawn[:, 0], minlength=4), p) < CHI2_CRITICAL[3]
    second = [sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)]
    assert np.isclose(sum(second), 1.0)
    assert chi_squared(np.bincount(drawn[:, 1], minlength=4), second) < CHI2_CRITICAL[3]


def test_multinomial_all_categories_without_replacement_is_a_permutation():
    drawn = cr.multinomial(cr.ones(50, 6), 6, generator=cr.Generator().manual_seed(4)).numpy()
    assert np.all(np.sort(drawn, axis=1) == np.arange(6))


def test_bernoulli_follows_its_probabilities():
    p = np.array([0.05, 0.5, 0.9])
    draws = cr.bernoulli(cr.tensor(np.tile(p, (20000, 1))), generator=cr.Generator().manual_seed(5)).numpy()
    for column, chance in zip(draws.T, p):
        ones = column.sum()
        assert chi_squared([ones, len(column) - ones], [chance, 1 - chance]) < CHI2_CRITICAL[1]
    inplace = cr.zeros(20000).bernoulli_(0.25, generator=cr.Generator().manual_seed(6)).numpy()
    assert chi_squared([inplace.sum(), 20000 - inplace.sum()], [0.25, 0.75]) < CHI2_CRITICAL[1]


def test_generator_draws_are_the_same_in_another_process():
    code = (
        "import json, chainrule as cr; g = cr.Generator().manual_seed(2147483647); "
        "print(json.dumps([cr.randn(4, generator=g).tolist(), cr.multinomial(cr.ones(9), 5, generator=g).tolist()]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    g = cr.Generator().manual_seed(2147483647)
    here = [cr.randn(4, generator=g).tolist(), cr.multinomial(cr.ones(9), 5, generator=g).tolist()]
    assert json.loads(done.stdout) == here


def test_generators_are_independent_streams():
    g, h = cr.Generator().manual_seed(0), cr.Generator().manual_seed(0)
    first = cr.rand(3, generator=g)
    cr.rand(100, generator=h)  # drawing from h moves h alone
    cr.manual_seed(5)
    cr.rand(10)  # so does the global stream
    g2 = cr.Generator().manual_seed(0)
    assert cr.equal(first, cr.rand(3, generator=g2))
    assert cr.equal(cr.rand(3, generator=g), cr.rand(3, generator=g2))


def test_default_generator_is_the_global_stream():
    cr.default_generator.manual_seed(11)
    a = cr.rand(3)
    cr.manual_seed(11)
    assert cr.equal(a, cr.rand(3)) and cr.initial_seed() == 11
    state = cr.default_generator.get_state()
    b = cr.rand(2)
    cr.default_generator.set_state(state)
    assert cr.equal(b, cr.rand(2))


def test_seed_and_state_errors():
    g = cr.Generator()
    seed = g.seed()
    assert isinstance(seed, int) and g.initial_seed() == seed
    with pytest.raises(TypeError, match="Generator.manual_seed: expected an integer seed"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="Generator.set_state: expected the 37-byte uint8 tensor"):
        g.set_state(cr.zeros(4))
    with pytest.raises(TypeError, match="randn: generator= expects a chainrule.Generator, got int"):
        cr.randn(2, generator=3)
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1  # negative seeds wrap, as PyTorch's


def test_every_consumer_takes_the_generator():
    def draws(seed):
        g = cr.Generator().manual_seed(seed)
        layer = nn.Linear(3, 2)
        nn.init.kaiming_uniform_(layer.weight, generator=g)
        x = cr.ones(4, 3)
        out = [
            layer.weight.detach().clone(),
            cr.nn.functional.dropout(x, 0.5, generator=g),
            cr.rand(2, generator=g),
            cr.randint(0, 9, (3,), generator=g),
            cr.randperm(5, generator=g),
            cr.normal(0.0, 1.0, (2,), generator=g),
            cr.zeros(2).normal_(generator=g),
            cr.zeros(2).uniform_(generator=g),
        ]
        loader = DataLoader(TensorDataset(cr.arange(10.0), cr.arange(10)), batch_size=10, shuffle=True, generator=g)
        out.append(next(iter(loader))[1])
        return out

    cr.manual_seed(0)
    first = draws(8)
    cr.manual_seed(99)  # the global seed changes nothing
    for a, b in zip(first, draws(8)):
        assert cr.equal(a, b)
    assert not all(cr.equal(a, b) for a, b in zip(first, draws(9)))
