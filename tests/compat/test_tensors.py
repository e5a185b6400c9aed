"""Making tensors, their attributes and conversions, indexing, shapes and element-wise math."""

import numpy as np
import pytest

from .harness import check, data, idioms


def _x(L, *shape, seed=0, **kw):
    return L.tensor(data(*shape, seed=seed), **kw)


def _from_numpy_shares(L):
    n = np.ones(3)
    t = L.from_numpy(n)
    np.add(n, 1, out=n)
    return t, t.dtype


def _numpy_shares(L):
    t = L.ones(3)
    n = t.numpy()
    t.add_(1)
    return n.tolist()


CREATION = idioms(
    ("tensor_float_list", lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]])),
    ("tensor_int_list", lambda L: L.tensor([1, 2, 3])),
    ("tensor_bool_list", lambda L: L.tensor([True, False])),
    ("tensor_scalar", lambda L: L.tensor(3.5)),
    ("tensor_dtype_float64", lambda L: L.tensor([1, 2], dtype=L.float64)),
    ("tensor_dtype_long", lambda L: L.tensor([1.7, 2.2], dtype=L.long)),
    ("tensor_requires_grad", lambda L: L.tensor([1.0], requires_grad=True).requires_grad),
    ("zeros_varargs", lambda L: L.zeros(2, 3)),
    ("zeros_tuple", lambda L: L.zeros((2, 3))),
    ("ones_long", lambda L: L.ones(2, dtype=L.long)),
    ("full_float", lambda L: L.full((2, 2), 7.0)),
    ("full_int", lambda L: L.full((2,), 7)),
    ("eye_square", lambda L: L.eye(3)),
    ("eye_rect", lambda L: L.eye(2, 3)),
    ("arange_int", lambda L: L.arange(5)),
    ("arange_start_end", lambda L: L.arange(1, 4)),
    ("arange_float_step", lambda L: L.arange(0, 1, 0.25)),
    ("arange_dtype", lambda L: L.arange(4, dtype=L.float32)),
    ("linspace", lambda L: L.linspace(0, 1, 5)),
    ("zeros_like", lambda L: L.zeros_like(_x(L, 2, 2))),
    ("ones_like_dtype", lambda L: L.ones_like(_x(L, 2), dtype=L.float64)),
    ("full_like", lambda L: L.full_like(_x(L, 3), 2.5)),
    ("empty_shape", lambda L: (L.empty(2, 3).shape, L.empty(2, 3).dtype)),
    ("new_zeros", lambda L: _x(L, 2, dtype=L.float64).new_zeros(3)),
    ("new_ones", lambda L: _x(L, 2).new_ones((2, 2))),
    ("new_full", lambda L: _x(L, 2).new_full((2,), 4.0)),
    ("new_tensor", lambda L: _x(L, 2, dtype=L.float64).new_tensor([1, 2])),
    ("from_numpy_shares_memory", _from_numpy_shares),
    ("numpy_shares_memory", _numpy_shares),
    ("as_tensor_list", lambda L: L.as_tensor([1.0, 2.0])),
    ("rand_shape_dtype", lambda L: (L.rand(2, 3).shape, L.rand(2, 3).dtype)),
    ("randn_shape_dtype", lambda L: (L.randn(4).shape, L.randn(4).dtype)),
    (
        "randint_range",
        lambda L: (
            L.randint(0, 3, (50,)).dtype,
            bool(((L.randint(0, 3, (50,)) >= 0) & (L.randint(0, 3, (50,)) < 3)).all()),
        ),
    ),
    ("rand_like", lambda L: L.rand_like(_x(L, 2, 2)).shape),
    ("randn_like_dtype", lambda L: L.randn_like(_x(L, 2, dtype=L.float64)).dtype),
    ("randperm_is_a_permutation", lambda L: L.sort(L.randperm(5)).values),
    ("manual_seed_repeats", lambda L: (L.manual_seed(3), L.rand(3))[1].equal((L.manual_seed(3), L.rand(3))[1])),
)

ATTRIBUTES = idioms(
    ("shape", lambda L: _x(L, 2, 3).shape),
    ("size", lambda L: _x(L, 2, 3).size()),
    ("size_dim", lambda L: _x(L, 2, 3).size(1)),
    ("dim_ndim", lambda L: (_x(L, 2, 3).dim(), _x(L, 2, 3).ndim)),
    ("numel", lambda L: (_x(L, 2, 3).numel(), L.numel(_x(L, 4)))),
    ("size_equals_tuple", lambda L: _x(L, 2, 3).shape == (2, 3)),
    ("len", lambda L: len(_x(L, 4, 2))),
    ("dtype", lambda L: (_x(L, 2).dtype, L.tensor([1]).dtype, L.tensor([True]).dtype)),
    ("dtype_aliases", lambda L: (L.float, L.double, L.long, L.int, L.bool, L.half)),
    ("dtype_compare", lambda L: _x(L, 2).dtype == L.float32),
    ("device", lambda L: _x(L, 2).device),
    ("device_compare", lambda L: _x(L, 2).device == L.device("cpu")),
    ("device_type", lambda L: _x(L, 2).device.type),
    ("cuda_available", lambda L: L.cuda.is_available()),
    ("is_tensor", lambda L: (L.is_tensor(_x(L, 2)), L.is_tensor([1]))),
    ("is_floating_point", lambda L: (L.is_floating_point(_x(L, 2)), L.tensor([1]).is_floating_point())),
    ("item", lambda L: L.tensor([[2.5]]).item()),
    ("item_int", lambda L: L.tensor(3).item()),
    ("item_many_raises", lambda L: _x(L, 2).item()),
    ("float_int_conversion", lambda L: (float(L.tensor(2.5)), int(L.tensor(7)))),
    ("bool_one", lambda L: bool(L.tensor([1.0]))),
    ("bool_many_raises", lambda L: bool(L.tensor([1.0, 2.0]))),
    ("format_scalar", lambda L: f"{L.tensor(1.23456):.3f}"),
    ("tolist", lambda L: L.tensor([[1, 2], [3, 4]]).tolist()),
    ("casts", lambda L: tuple(getattr(_x(L, 2), c)() for c in ("float", "double", "long", "int", "bool", "half"))),
    ("to_dtype", lambda L: _x(L, 2).to(L.float64)),
    ("to_device_and_dtype", lambda L: _x(L, 2).to("cpu", L.float64)),
    ("to_other_tensor", lambda L: _x(L, 2).to(L.tensor([1], dtype=L.float64))),
    ("type_name", lambda L: (_x(L, 2).type(), L.tensor([1]).type())),
    ("type_cast", lambda L: _x(L, 2).type(L.float64)),
    ("cpu", lambda L: _x(L, 2).cpu()),
    ("contiguous", lambda L: _x(L, 2, 3).t().contiguous()),
    ("is_contiguous", lambda L: (_x(L, 2, 3).is_contiguous(), _x(L, 2, 3).t().is_contiguous())),
    ("clone_is_a_copy", lambda L: (lambda x: (x.clone().add_(1), x))(_x(L, 2))),
    ("detach_shares_memory", lambda L: (lambda x: (x.detach().zero_(), x))(_x(L, 2))),
)

INDEXING = idioms(
    ("int_index", lambda L: _x(L, 3, 4)[0]),
    ("column", lambda L: _x(L, 3, 4)[:, 1]),
    ("ellipsis_last", lambda L: _x(L, 2, 3, 4)[..., -1]),
    ("slice", lambda L: _x(L, 5, 2)[1:3]),
    ("step_slice", lambda L: _x(L, 6)[::2]),
    ("list_index", lambda L: _x(L, 4, 2)[[0, 2]]),
    ("tensor_index", lambda L: _x(L, 4, 2)[L.tensor([3, 0])]),
    ("bool_mask", lambda L: (lambda x: x[x > 0])(_x(L, 3, 3))),
    ("none_axis", lambda L: (_x(L, 3)[None].shape, _x(L, 3)[:, None].shape)),
    ("element", lambda L: _x(L, 3, 3)[1, 2]),
    ("negative_index", lambda L: _x(L, 4)[-1]),
    (
        "index_grad_repeated",
        lambda L: (lambda x: (x[[0, 0, 2]].sum().backward(), x.grad)[1])(_x(L, 3, requires_grad=True)),
    ),
    ("index_select", lambda L: L.index_select(_x(L, 3, 4), 1, L.tensor([3, 0]))),
    ("gather", lambda L: L.gather(_x(L, 3, 4), 1, L.tensor([[0, 0], [1, 3], [2, 2]]))),
    (
        "gather_grad",
        lambda L: (lambda x: (x.gather(1, L.tensor([[0, 0], [1, 3], [2, 2]])).sum().backward(), x.grad)[1])(
            _x(L, 3, 4, requires_grad=True)
        ),
    ),
    ("masked_fill", lambda L: (lambda x: x.masked_fill(x < 0, 0.0))(_x(L, 2, 3))),
    ("where", lambda L: (lambda x: L.where(x > 0, x, L.zeros_like(x)))(_x(L, 2, 3))),
    ("cat_dim1", lambda L: L.cat([_x(L, 2, 2), _x(L, 2, 3, seed=1)], dim=1)),
    ("stack_dim1", lambda L: L.stack([_x(L, 2), _x(L, 2, seed=1)], dim=1)),
    ("chunk", lambda L: _x(L, 5, 2).chunk(2)),
    ("split_size", lambda L: _x(L, 5, 2).split(2)),
    ("split_sections", lambda L: L.split(_x(L, 5, 2), [1, 4])),
    ("unbind", lambda L: _x(L, 2, 3).unbind(1)),
    ("narrow", lambda L: _x(L, 4, 3).narrow(0, 1, 2)),
    ("flip", lambda L: _x(L, 2, 3).flip(1)),
    ("t_and_T", lambda L: (_x(L, 2, 3).t(), _x(L, 2, 3).T)),
    ("permute", lambda L: _x(L, 2, 3, 4).permute(2, 0, 1)),
    ("transpose", lambda L: _x(L, 2, 3, 4).transpose(0, 2)),
    ("reshape_minus_one", lambda L: _x(L, 2, 3).reshape(-1)),
    ("view", lambda L: _x(L, 2, 3).view(3, -1)),
    ("view_as", lambda L: _x(L, 6).view_as(_x(L, 2, 3))),
    (
        "unsqueeze_squeeze",
        lambda L: (_x(L, 3).unsqueeze(-1).shape, _x(L, 1, 3).squeeze(0).shape, _x(L, 1, 3, 1).squeeze().shape),
    ),
    ("expand", lambda L: _x(L, 3, 1).expand(3, 4)),
    ("expand_minus_one", lambda L: _x(L, 3, 1).expand(2, -1, 4)),
    (
        "expand_grad",
        lambda L: (lambda x: (x.expand(3, 4).sum().backward(), x.grad)[1])(_x(L, 3, 1, requires_grad=True)),
    ),
    ("repeat", lambda L: _x(L, 2, 3).repeat(2, 1)),
    (
        "repeat_grad",
        lambda L: (lambda x: (x.repeat(2, 3).pow(2).sum().backward(), x.grad)[1])(_x(L, 2, requires_grad=True)),
    ),
    ("flatten_start", lambda L: _x(L, 2, 3, 4).flatten(1)),
    ("flatten_range", lambda L: _x(L, 2, 3, 4).flatten(0, 1)),
    ("index_out_of_range_raises", lambda L: _x(L, 3)[5]),
    ("bad_view_raises", lambda L: _x(L, 2, 3).view(4, 2)),
)

MATH = idioms(
    (
        "unary_functions",
        lambda L: tuple(
            getattr(L, f)(_x(L, 4, low=0.1, high=1.5))
            for f in (
                "sin",
                "cos",
                "tan",
                "exp",
                "log",
                "sqrt",
                "abs",
                "sigmoid",
                "tanh",
                "relu",
                "square",
                "rsqrt",
                "reciprocal",
                "log1p",
                "expm1",
            )
        ),
    ),
    (
        "unary_methods",
        lambda L: tuple(
            getattr(_x(L, 4), f)() for f in ("exp", "abs", "neg", "sign", "floor", "ceil", "round", "trunc")
        ),
    ),
    (
        "pow_scalar_and_tensor",
        lambda L: (_x(L, 3, low=0.1) ** 2, _x(L, 3, low=0.1).pow(L.tensor([1, 2, 3])), 2 ** _x(L, 3)),
    ),
    (
        "arithmetic_with_scalars",
        lambda L: (lambda x: (x + 1, 1 - x, x * 2, 2 / (x + 3), x / 2, -x, x // 0.3, x % 0.5))(_x(L, 3)),
    ),
    ("add_alpha", lambda L: L.add(_x(L, 3), _x(L, 3, seed=1), alpha=2)),
    ("broadcast_add", lambda L: _x(L, 2, 3) + _x(L, 3, seed=1)),
    ("matmul_operator", lambda L: _x(L, 2, 3) @ _x(L, 3, 4, seed=1)),
    (
        "mm_mv_dot_outer",
        lambda L: (
            L.mm(_x(L, 2, 3), _x(L, 3, 2)),
            L.mv(_x(L, 2, 3), _x(L, 3)),
            L.dot(_x(L, 3), _x(L, 3, seed=2)),
            L.outer(_x(L, 2), _x(L, 3)),
        ),
    ),
    ("bmm", lambda L: L.bmm(_x(L, 2, 2, 3), _x(L, 2, 3, 4, seed=1))),
    (
        "matmul_out",
        lambda L: (lambda out: (L.matmul(_x(L, 2, 3), _x(L, 3, 2, seed=1), out=out), out)[1])(L.zeros(2, 2)),
    ),
    ("mul_out", lambda L: (lambda out: (L.mul(_x(L, 3), _x(L, 3, seed=1), out=out), out)[1])(L.zeros(3))),
    ("mm_wrong_dims_raises", lambda L: L.mm(_x(L, 3), _x(L, 3))),
    ("clamp", lambda L: (_x(L, 5).clamp(-0.2, 0.3), _x(L, 5).clamp(min=0.0), L.clamp(_x(L, 5), max=0.1))),
    ("maximum_minimum", lambda L: (L.maximum(_x(L, 4), _x(L, 4, seed=1)), L.minimum(_x(L, 4), _x(L, 4, seed=1)))),
    (
        "comparisons",
        lambda L: (lambda a, b: (a == b, a < b, a >= b, a.eq(b), a.gt(0.0), L.lt(a, b), a != b))(
            _x(L, 4), _x(L, 4, seed=1)
        ),
    ),
    (
        "logical_ops",
        lambda L: (lambda a, b: (a & b, a | b, ~a, a ^ b))(
            L.tensor([True, False, True]), L.tensor([True, True, False])
        ),
    ),
    (
        "equal_allclose_isclose",
        lambda L: (
            L.equal(_x(L, 3), _x(L, 3)),
            L.allclose(_x(L, 3), _x(L, 3) + 1e-9),
            L.isclose(_x(L, 3), _x(L, 3, seed=1)),
        ),
    ),
    (
        "isnan_isinf",
        lambda L: (lambda x: (L.isnan(x), L.isinf(x), L.isfinite(x)))(L.tensor([1.0, float("nan"), float("inf")])),
    ),
    ("float_plus_int_tensor", lambda L: _x(L, 3) + L.tensor([1, 2, 3])),
    ("int_div_is_true_division", lambda L: L.tensor([3, 4]) / 2),
    ("shape_mismatch_raises", lambda L: _x(L, 2, 3) + _x(L, 4)),
    (
        "softmax_functions",
        lambda L: (L.softmax(_x(L, 2, 3), dim=1), L.log_softmax(_x(L, 2, 3), dim=0), _x(L, 2, 3).softmax(-1)),
    ),
)


@pytest.mark.parametrize("idiom", CREATION + ATTRIBUTES + INDEXING + MATH, ids=str)
def test_idiom(idiom):
    check(idiom)


def test_float64_mix_is_refused():
    """Differs on purpose: PyTorch promotes float32 + float64 to float64; chainrule never upcasts silently."""
    import chainrule as cr

    with pytest.raises(TypeError, match="never upcasts"):
        cr.ones(2) + cr.ones(2, dtype=cr.float64)
