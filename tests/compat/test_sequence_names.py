"""The names sequence and language-model code reaches for (issue: sequences and attention), each run as
PyTorch code on both libraries: values, dtypes, shapes, gradients and the errors PyTorch raises."""

import pytest

from .harness import check, data, idioms


def _x(L, *shape, seed=0, grad=False, low=-1.0, high=1.0):
    return L.tensor(data(*shape, seed=seed, low=low, high=high), requires_grad=grad)


def _grad(L, op, *shape, low=-1.0, high=1.0, weight_seed=1):
    """op's value and the gradient of a weighted sum of it (the weights make every element's gradient count)."""
    x = _x(L, *shape, grad=True, low=low, high=high)
    y = op(x)
    (y * L.tensor(data(*y.shape, seed=weight_seed))).sum().backward()
    return y.detach(), x.grad


NAMES = idioms(
    # logarithms
    ("log10", lambda L: _grad(L, L.log10, 3, 4, low=0.1, high=5.0)),
    ("log2", lambda L: _grad(L, L.log2, 5, low=0.1, high=5.0)),
    ("log10_method", lambda L: L.tensor([1.0, 10.0, 1000.0]).log10()),
    ("log2_method", lambda L: _grad(L, lambda x: x.log2(), 2, 3, low=0.5, high=2.0)),
    ("log1p_expm1", lambda L: _grad(L, lambda x: x.log1p() + x.expm1(), 4, low=-0.5, high=0.5)),
    ("log10_float64", lambda L: L.log10(L.tensor([2.0], dtype=L.float64))),
    # triangles: the causal mask of attention
    ("tril", lambda L: _grad(L, L.tril, 4, 4)),
    ("tril_diagonal", lambda L: _grad(L, lambda x: L.tril(x, diagonal=-1), 3, 5)),
    ("triu_diagonal", lambda L: _grad(L, lambda x: x.triu(1), 5, 3)),
    ("tril_batched", lambda L: _grad(L, L.tril, 2, 3, 3)),
    ("tril_ones_mask", lambda L: L.tril(L.ones(4, 4)) == 0),
    ("causal_masked_fill", lambda L: _x(L, 4, 4).masked_fill(L.tril(L.ones(4, 4)) == 0, float("-inf")).softmax(-1)),
    ("tril_vector", lambda L: L.tril(L.ones(3))),
    ("tril_long", lambda L: L.tril(L.ones(3, 3, dtype=L.long))),
    # one-hot codes
    ("one_hot", lambda L: L.nn.functional.one_hot(L.tensor([0, 2, 1, 2]), num_classes=4)),
    ("one_hot_inferred", lambda L: L.nn.functional.one_hot(L.tensor([[0, 3], [1, 1]]))),
    ("one_hot_float_input", lambda L: L.nn.functional.one_hot(L.tensor([0.0, 1.0]))),
    ("one_hot_too_large", lambda L: L.nn.functional.one_hot(L.tensor([5]), 3)),
    ("one_hot_negative", lambda L: L.nn.functional.one_hot(L.tensor([-1]), 3)),
    ("one_hot_then_float_matmul", lambda L: L.nn.functional.one_hot(L.tensor([1, 0]), 3).float() @ L.ones(3, 2)),
    # counting
    ("bincount", lambda L: L.bincount(L.tensor([0, 1, 1, 3, 1]))),
    ("bincount_minlength", lambda L: L.bincount(L.tensor([2, 0]), minlength=5)),
    ("bincount_weights", lambda L: L.bincount(L.tensor([0, 1, 1]), weights=L.tensor([0.5, 1.0, 2.0]))),
    ("bincount_negative", lambda L: L.bincount(L.tensor([0, -1]))),
    ("bincount_2d", lambda L: L.bincount(L.tensor([[0, 1]]))),
    ("histc", lambda L: L.histc(_x(L, 50), bins=5, min=-1, max=1)),
    ("histc_data_range", lambda L: L.histc(L.tensor([1.0, 2.0, 2.0, 4.0]), bins=3)),
    ("histc_outside_left_out", lambda L: L.histc(L.tensor([-5.0, 0.5, 9.0]), bins=2, min=0, max=1)),
    ("histc_method", lambda L: L.tensor([0.1, 0.2, 0.9]).histc(bins=2, min=0, max=1)),
    ("histogram", lambda L: tuple(L.histogram(_x(L, 40), bins=4))),
    ("histogram_range", lambda L: tuple(L.histogram(_x(L, 40), bins=3, range=(-0.5, 0.5)))),
    ("histogram_edges", lambda L: tuple(L.histogram(L.tensor([0.1, 0.5, 0.7, 2.0]), bins=L.tensor([0.0, 0.6, 1.0])))),
    ("histogram_density", lambda L: L.histogram(_x(L, 40), bins=4, density=True).hist),
    ("histogram_weight", lambda L: L.histogram(L.tensor([0.1, 0.9]), bins=2, weight=L.tensor([2.0, 3.0])).hist),
    # moving and repeating
    ("roll_flat", lambda L: L.roll(L.arange(6).reshape(2, 3), 1)),
    ("roll_dim", lambda L: _grad(L, lambda x: L.roll(x, shifts=-1, dims=1), 2, 4)),
    ("roll_two_dims", lambda L: _grad(L, lambda x: x.roll((1, 2), (0, 1)), 3, 4)),
    ("roll_mismatch", lambda L: L.roll(L.ones(2, 2), (1, 1), 0)),
    ("flip", lambda L: _grad(L, lambda x: L.flip(x, (0,)), 3, 2)),
    ("repeat_interleave_number", lambda L: L.repeat_interleave(L.tensor([1, 2, 3]), 2)),
    ("repeat_interleave_dim", lambda L: _grad(L, lambda x: x.repeat_interleave(3, dim=1), 2, 2)),
    ("repeat_interleave_counts", lambda L: _grad(L, lambda x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=0), 3, 2)),
    ("repeat_interleave_flat", lambda L: _grad(L, lambda x: L.repeat_interleave(x, 2), 2, 2)),
    ("repeat_interleave_indices", lambda L: L.repeat_interleave(L.tensor([2, 0, 1]))),
    ("repeat_interleave_bad_counts", lambda L: L.repeat_interleave(L.ones(3), L.tensor([1, 2]), dim=0)),
    ("masked_select", lambda L: _grad(L, lambda x: L.masked_select(x, x > 0), 3, 4)),
    ("masked_select_broadcast", lambda L: L.masked_select(L.arange(6.0).reshape(2, 3), L.tensor([True, False, True]))),
    ("masked_select_method", lambda L: L.arange(4).masked_select(L.tensor([False, True, True, False]))),
    ("masked_select_int_mask", lambda L: L.masked_select(L.ones(2), L.tensor([1, 0]))),
    # writing at indices
    ("scatter_method", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[2], [0]]), L.tensor([[5.0], [6.0]]))),
    ("scatter_value", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[2], [0]]), 1.5)),
    ("scatter_out_of_range", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[3], [0]]), 1.5)),
    ("scatter_int32_index", lambda L: L.zeros(2, 3).scatter(1, L.tensor([[1], [0]], dtype=L.int32), 1.5)),
    ("scatter_add_counts", lambda L: L.zeros(4).scatter_add(0, L.tensor([0, 3, 3, 1, 3]), L.ones(5))),
    (
        "scatter_add_grad",
        lambda L: _grad(L, lambda x: L.zeros(2, 2).scatter_add(0, L.tensor([[1, 0], [1, 1]]), x), 2, 2),
    ),
    ("index_add", lambda L: L.zeros(3, 2).index_add(0, L.tensor([2, 0, 2]), L.ones(3, 2))),
    ("index_add_alpha", lambda L: L.ones(3).index_add(0, L.tensor([1]), L.tensor([4.0]), alpha=0.5)),
    ("index_add_bad_shape", lambda L: L.zeros(3, 2).index_add(0, L.tensor([0]), L.ones(2, 2))),
    ("einsum_attention", lambda L: _grad(L, lambda q: L.einsum("btd,bsd->bts", q, q), 2, 3, 4)),
    ("einsum_list_operands", lambda L: L.einsum("i,i->", [L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0])])),
    ("einsum_bad_shapes", lambda L: L.einsum("ij,jk->ik", L.ones(2, 3), L.ones(2, 3))),
    ("einsum_wrong_count", lambda L: L.einsum("ij,jk->ik", L.ones(2, 3))),
    # padding and normalising
    ("pad_constant", lambda L: _grad(L, lambda x: L.nn.functional.pad(x, (1, 2)), 2, 3)),
    ("pad_value", lambda L: L.nn.functional.pad(L.ones(2, 2), (1, 1, 1, 1), value=9.0)),
    ("pad_crop", lambda L: L.nn.functional.pad(L.arange(12.0).reshape(3, 4), (-1, 0, 0, -2))),
    ("pad_reflect", lambda L: _grad(L, lambda x: L.nn.functional.pad(x, (2, 1), mode="reflect"), 2, 4)),
    ("pad_replicate", lambda L: _grad(L, lambda x: L.nn.functional.pad(x, (1, 1, 2, 0), mode="replicate"), 1, 2, 3)),
    ("pad_circular", lambda L: _grad(L, lambda x: L.nn.functional.pad(x, (1, 2), mode="circular"), 1, 2, 3)),
    ("pad_odd_length", lambda L: L.nn.functional.pad(L.ones(2, 2), (1, 2, 3))),
    ("pad_bad_mode", lambda L: L.nn.functional.pad(L.ones(1, 2, 2), (1, 1), mode="mirror")),
    ("normalize", lambda L: _grad(L, L.nn.functional.normalize, 3, 4)),
    ("normalize_dim0_p1", lambda L: _grad(L, lambda x: L.nn.functional.normalize(x, p=1, dim=0), 3, 4, low=0.5)),
    # where with numbers
    ("where_two_floats", lambda L: L.where(L.tensor([True, False]), 1.0, 0.0)),
    ("where_two_ints", lambda L: L.where(L.tensor([True, False]), 1, 0)),
    ("where_int_and_float", lambda L: L.where(L.tensor([True, False]), 1, 0.5)),
    ("where_scalar_other", lambda L: _grad(L, lambda x: L.where(x > 0, x, 0.0), 3, 3)),
    ("where_method_scalar", lambda L: L.tensor([1.0, -2.0]).where(L.tensor([True, False]), 0.0)),
)


def _containers(L):
    nn = L.nn
    blocks = nn.ModuleDict({"embed": nn.Embedding(5, 3), "head": nn.Linear(3, 2)})
    blocks["norm"] = nn.LayerNorm(3)
    scales = nn.ParameterList([nn.Parameter(L.ones(2)), nn.Parameter(L.zeros(3))])
    scales.append(nn.Parameter(L.ones(1)))
    extra = nn.ParameterDict({"bias": nn.Parameter(L.zeros(2))})
    extra["gain"] = nn.Parameter(L.ones(2))
    holder = nn.Module()
    holder.blocks, holder.scales, holder.extra = blocks, scales, extra
    names = [name for name, _ in holder.named_parameters()]
    shapes = {k: tuple(v.shape) for k, v in holder.state_dict().items()}
    return (
        names,
        shapes,
        list(blocks.keys()),
        len(scales),
        "head" in blocks,
        [tuple(p.shape) for p in scales],
        sorted(extra.keys()),
    )


CONTAINERS = idioms(
    ("module_and_parameter_containers", _containers),
    ("module_dict_not_a_module", lambda L: L.nn.ModuleDict({"a": 3})),
    (
        "module_dict_pop",
        lambda L: (lambda d: (type(d.pop("a")).__name__, len(d)))(
            L.nn.ModuleDict({"a": L.nn.ReLU(), "b": L.nn.Tanh()})
        ),
    ),
    ("parameter_list_iterates", lambda L: sum(p.sum() for p in L.nn.ParameterList([L.nn.Parameter(L.ones(3))]))),
)


@pytest.mark.parametrize("idiom", NAMES + CONTAINERS, ids=str)
def test_idiom(idiom):
    check(idiom)


def _old_tutorial(L):
    """Spellings of older tutorials: Variable, picking a device through backends, cuDNN flags."""
    x = L.autograd.Variable(L.ones(2, 2), requires_grad=True)
    device = "cuda" if L.cuda.is_available() else "mps" if L.backends.mps.is_available() else "cpu"
    L.backends.cudnn.benchmark = True
    L.backends.cudnn.deterministic = True
    y = (x * 3).sum()
    y.backward()
    return device, type(x).__name__, x.grad


def _formats(L):
    loss = L.tensor(0.123456789)
    return f"{loss:.4f}", f"{loss}", f"{loss.item():.3f}", str(L.tensor([1.5, 2.25])), repr(L.tensor([1, 2]))


LEGACY = idioms(
    ("old_tutorial_spellings", _old_tutorial),
    ("formats_like_pytorch", _formats),
    ("repr_whole_floats", lambda L: repr(L.tensor([[1.0, -2.0], [3.0, 40.0]]))),
    ("repr_scientific", lambda L: repr(L.tensor([1e-6, 1.0, float("nan")]))),
    ("repr_bools", lambda L: repr(L.tensor([True, False]))),
    (
        "cross_entropy_ignore_index",
        lambda L: _grad(L, lambda x: L.nn.functional.cross_entropy(x, L.tensor([0, -1, 2]), ignore_index=-1), 3, 4),
    ),
    (
        "cross_entropy_default_ignore",
        lambda L: L.nn.functional.cross_entropy(L.tensor(data(3, 4)), L.tensor([0, -100, 2]), reduction="none"),
    ),
    (
        "cross_entropy_weight_smoothing",
        lambda L: _grad(
            L,
            lambda x: L.nn.CrossEntropyLoss(weight=L.tensor([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.1)(
                x, L.tensor([3, 1, 0])
            ),
            3,
            4,
        ),
    ),
    (
        "nll_loss_weight",
        lambda L: L.nn.NLLLoss(weight=L.tensor([1.0, 0.0, 2.0]))(L.tensor(data(2, 3)).log_softmax(1), L.tensor([2, 1])),
    ),
    ("cross_entropy_all_ignored", lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.tensor([-100, -100]))),
    ("relu_inplace", lambda L: (lambda x: (L.nn.functional.relu(x, inplace=True) is x, x))(L.tensor([-1.0, 2.0]))),
    ("relu_module_inplace_on_graph", lambda L: _grad(L, lambda x: L.nn.ReLU(inplace=True)(x * 2), 3)),
    ("relu_inplace_leaf_refused", lambda L: L.nn.functional.relu(L.ones(2, requires_grad=True), inplace=True)),
    ("dropout_inplace_eval", lambda L: L.nn.functional.dropout(L.ones(3), 0.5, training=False, inplace=True)),
)


@pytest.mark.parametrize("idiom", LEGACY, ids=str)
def test_legacy_idiom(idiom):
    check(idiom)
