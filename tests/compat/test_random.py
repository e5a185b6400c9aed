"""Random draws written as PyTorch code: generators, multinomial, bernoulli. The numbers differ (PCG64
against PyTorch's Mersenne Twister), so each idiom compares what does not depend on them: shapes,
dtypes, reproducibility, which values can come out, and which calls raise."""

import pytest

from .harness import check, idioms


def _same_seed_same_draws(L):
    a = L.randn(4, 3, generator=L.Generator().manual_seed(2147483647))
    b = L.randn(4, 3, generator=L.Generator().manual_seed(2147483647))
    return bool((a == b).all()), a.shape, a.dtype


def _independent_of_global_seed(L):
    L.manual_seed(1)
    a = L.rand(5, generator=L.Generator().manual_seed(7))
    L.manual_seed(2)
    L.rand(3)
    b = L.rand(5, generator=L.Generator().manual_seed(7))
    return bool((a == b).all())


def _state_round_trip(L):
    g = L.Generator().manual_seed(3)
    state = g.get_state()
    a = L.randint(0, 100, (6,), generator=g)
    g.set_state(state)
    b = L.randint(0, 100, (6,), generator=g)
    return bool((a == b).all()), state.dtype, a.dtype


def _no_replacement_distinct(L):
    g = L.Generator().manual_seed(0)
    drawn = L.multinomial(L.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]]), 4, generator=g)
    return drawn.sort(dim=1).values, drawn.dtype


def _zero_weight_never_drawn(L):
    g = L.Generator().manual_seed(0)
    drawn = L.multinomial(L.tensor([0.0, 1.0, 0.0, 3.0]), 200, replacement=True, generator=g)
    return bool(((drawn == 1) | (drawn == 3)).all()), drawn.shape


def _names_loop(L):
    """makemore's sampling loop: draw from a row of probabilities until index 0, with a generator."""
    g = L.Generator().manual_seed(2147483647)
    P = L.rand(27, 27, generator=g) + 0.01
    P = P / P.sum(1, keepdim=True)
    ix, out = 0, []
    for _ in range(40):
        ix = L.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
        out.append(isinstance(ix, int) and 0 <= ix < 27)
        if ix == 0:
            break
    return all(out)


RANDOM = idioms(
    ("generator_same_seed_same_draws", _same_seed_same_draws),
    ("generator_independent_of_global_seed", _independent_of_global_seed),
    ("generator_state_round_trip", _state_round_trip),
    ("generator_manual_seed_returns_it", lambda L: isinstance(L.Generator().manual_seed(1), L.Generator)),
    ("generator_initial_seed", lambda L: L.Generator().manual_seed(42).initial_seed()),
    ("rand_generator_shape", lambda L: L.rand((2, 3), generator=L.Generator().manual_seed(0)).shape),
    (
        "randint_generator_range",
        lambda L: bool(
            ((lambda t: (t >= 3) & (t < 5))(L.randint(3, 5, (50,), generator=L.Generator().manual_seed(0)))).all()
        ),
    ),
    ("randperm_generator", lambda L: L.randperm(6, generator=L.Generator().manual_seed(0)).sort().values),
    ("normal_generator", lambda L: L.zeros(3).normal_(generator=L.Generator().manual_seed(0)).shape),
    ("uniform_generator_range", lambda L: bool((L.zeros(20).uniform_(2, 3, generator=L.Generator()) >= 2).all())),
    ("multinomial_1d_shape", lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3, replacement=True).shape),
    ("multinomial_2d_shape", lambda L: L.multinomial(L.ones(4, 5), 2).shape),
    ("multinomial_dtype", lambda L: L.multinomial(L.ones(3), 1).dtype),
    ("multinomial_method", lambda L: L.ones(2, 3).multinomial(3).sort(dim=1).values),
    ("multinomial_no_replacement_distinct", _no_replacement_distinct),
    ("multinomial_zero_weight_never_drawn", _zero_weight_never_drawn),
    ("multinomial_certain", lambda L: L.multinomial(L.tensor([0.0, 0.0, 5.0]), 4, replacement=True)),
    ("multinomial_makemore_loop", _names_loop),
    ("multinomial_too_many_without_replacement", lambda L: L.multinomial(L.ones(3), 4)),
    ("multinomial_not_enough_nonzero", lambda L: L.multinomial(L.tensor([1.0, 0.0, 0.0]), 2)),
    ("multinomial_zero_row", lambda L: L.multinomial(L.zeros(3), 1)),
    ("multinomial_negative", lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1)),
    ("multinomial_nan", lambda L: L.multinomial(L.tensor([1.0, float("nan")]), 1)),
    ("multinomial_zero_samples", lambda L: L.multinomial(L.ones(3), 0)),
    ("multinomial_3d", lambda L: L.multinomial(L.ones(2, 2, 2), 1)),
    ("multinomial_integer_weights", lambda L: L.multinomial(L.tensor([1, 2]), 1)),
    (
        "bernoulli_values",
        lambda L: (lambda t: (t.dtype, bool(((t == 0) | (t == 1)).all())))(
            L.bernoulli(L.full((100,), 0.3), generator=L.Generator().manual_seed(0))
        ),
    ),
    ("bernoulli_certain", lambda L: L.bernoulli(L.tensor([0.0, 1.0, 1.0, 0.0]))),
    ("bernoulli_out_of_range", lambda L: L.bernoulli(L.tensor([1.5]))),
    ("bernoulli_method", lambda L: L.tensor([0.0, 1.0]).bernoulli()),
    ("bernoulli_inplace", lambda L: L.zeros(4).bernoulli_(1.0)),
    ("bernoulli_float64", lambda L: L.bernoulli(L.tensor([0.5], dtype=L.float64)).dtype),
)


@pytest.mark.parametrize("idiom", RANDOM, ids=str)
def test_idiom(idiom):
    check(idiom)
