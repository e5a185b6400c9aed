"""Reductions with dim and keepdim, (values, indices) results, sorting; each with its gradient."""

import pytest

from .harness import check, data, idioms


def _with_grad(L, fn, *shape, seed=0):
    """fn(x) and the gradient of (fn(x) * weights).sum() with respect to x."""
    x = L.tensor(data(*shape, seed=seed), requires_grad=True)
    out = fn(x)
    values = out[0] if isinstance(out, tuple) else out
    (values * L.tensor(data(*values.shape, seed=99))).sum().backward()
    return out, x.grad


REDUCTIONS = idioms(
    ("sum_all", lambda L: _with_grad(L, lambda x: x.sum(), 3, 4)),
    ("sum_dim", lambda L: _with_grad(L, lambda x: x.sum(0), 3, 4)),
    ("sum_dim_keepdim", lambda L: _with_grad(L, lambda x: x.sum(dim=1, keepdim=True), 3, 4)),
    ("sum_dims_tuple", lambda L: _with_grad(L, lambda x: L.sum(x, dim=(0, 2)), 2, 3, 4)),
    ("sum_int_tensor", lambda L: L.tensor([[1, 2], [3, 4]]).sum(1)),
    ("mean_dim", lambda L: _with_grad(L, lambda x: x.mean(dim=-1), 3, 4)),
    ("mean_keepdim", lambda L: _with_grad(L, lambda x: L.mean(x, 0, keepdim=True), 3, 4)),
    ("mean_int_raises", lambda L: L.tensor([1, 2]).mean()),
    ("max_all", lambda L: _with_grad(L, lambda x: x.max(), 3, 4)),
    ("max_dim_values_indices", lambda L: _with_grad(L, lambda x: tuple(x.max(dim=1)), 3, 4)),
    ("torch_max_positional_dim", lambda L: (lambda r: (r.values, r.indices, r[0]))(L.max(L.tensor(data(3, 4)), 1))),
    ("max_keepdim", lambda L: tuple(L.tensor(data(3, 4)).max(1, keepdim=True))),
    ("max_of_two_tensors", lambda L: L.max(L.tensor(data(4)), L.tensor(data(4, seed=1)))),
    ("min_dim", lambda L: _with_grad(L, lambda x: tuple(x.min(0)), 3, 4)),
    ("amax_amin_dims", lambda L: _with_grad(L, lambda x: L.amax(x, dim=(0, 1)) + x.amin(-1).sum(), 2, 3, 4)),
    (
        "argmax_argmin",
        lambda L: (lambda x: (x.argmax(), x.argmax(dim=1), x.argmin(0), L.argmax(x, 1, keepdim=True)))(
            L.tensor(data(3, 4))
        ),
    ),
    ("argmax_positional_dim", lambda L: L.tensor(data(3, 4)).argmax(1)),
    ("prod", lambda L: _with_grad(L, lambda x: x.prod(1), 3, 4)),
    ("prod_with_zero", lambda L: _with_grad(L, lambda x: (x * L.tensor([1.0, 0.0, 1.0])).prod(), 3)),
    ("std_var", lambda L: _with_grad(L, lambda x: x.std() + x.var(dim=0).sum() + x.var(1, unbiased=False).sum(), 3, 4)),
    ("std_correction", lambda L: L.std(L.tensor(data(3, 4)), dim=1, correction=0)),
    ("norm", lambda L: _with_grad(L, lambda x: x.norm() + x.norm(dim=1).sum() + x.norm(p=1), 3, 4)),
    ("logsumexp", lambda L: _with_grad(L, lambda x: x.logsumexp(1), 3, 4)),
    ("cumsum", lambda L: _with_grad(L, lambda x: x.cumsum(dim=1), 3, 4)),
    (
        "all_any",
        lambda L: (lambda x: (x.all(), x.any(), (x > 0).all(), (x > 0).any(dim=1)))(L.tensor([[1.0, 0.0], [2.0, 3.0]])),
    ),
    ("sort", lambda L: _with_grad(L, lambda x: tuple(x.sort(dim=1, descending=True)), 3, 4)),
    ("sort_values_indices", lambda L: (lambda r: (r.values, r.indices))(L.sort(L.tensor(data(5))))),
    ("argsort", lambda L: L.tensor(data(3, 4)).argsort(dim=1)),
    ("topk", lambda L: _with_grad(L, lambda x: tuple(x.topk(2)), 3, 4)),
    ("topk_smallest", lambda L: tuple(L.topk(L.tensor(data(6)), 3, largest=False))),
    ("softmax_dim", lambda L: _with_grad(L, lambda x: L.softmax(x, dim=1), 3, 4)),
    ("log_softmax_dim0", lambda L: _with_grad(L, lambda x: x.log_softmax(dim=0), 3, 4)),
    ("dim_out_of_range_raises", lambda L: L.tensor(data(3, 4)).sum(dim=2)),
)


@pytest.mark.parametrize("idiom", REDUCTIONS, ids=str)
def test_idiom(idiom):
    check(idiom)
