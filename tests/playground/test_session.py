"""The playground's Session: data sets, features, training, and the chain rule read off its latest step."""

import math

import numpy as np
import pytest

from chainrule.errors import ConfigError, DataError
from chainrule.explain import parse_network, trace_step
from chainrule.explain.chain import parameter_chain
from chainrule.playground import Session, parse_config
from chainrule.playground.datasets import DATASETS, FEATURES, from_csv, make

torch = pytest.importorskip("torch", reason="PyTorch is the comparison oracle (make test installs it)")


@pytest.mark.parametrize("name", [d for d in DATASETS if d not in ("csv", "digits")])
def test_every_plane_set_is_reproducible_and_on_the_plane(name):
    a, b = make(name, 300, 0.2, 50, 7, 3), make(name, 300, 0.2, 50, 7, 3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape == (150, 2) and np.abs(a.X_train).max() <= 6
    if a.task == "classification":
        assert set(np.unique(np.concatenate([a.y_train, a.y_test]))) == set(range(a.classes))
    c = make(name, 300, 0.2, 50, 8, 3)
    assert not np.array_equal(a.X_train, c.X_train)  # another seed, other points


def test_more_than_two_classes():
    assert make("spiral", 300, 0.0, 50, 1, 4).classes == 4
    assert make("blobs", 300, 0.0, 50, 1, 5).classes == 5


def test_features_are_the_named_functions_of_the_point():
    data = make("circle", 40, 0.0, 50, 1, 2)
    x = data.inputs(data.X_train, list(FEATURES))
    x1, x2 = data.X_train[:, 0], data.X_train[:, 1]
    np.testing.assert_allclose(x, np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)]))


def test_csv_text_labels_and_errors():
    text = "a,b,label\n" + "\n".join(f"{i},{i % 3},{'cat' if i % 2 else 'dog'}" for i in range(20))
    data = from_csv(text, "pets.csv", 50, 0)
    assert data.classes == 2 and data.class_names == ["cat", "dog"] and np.abs(data.X_train).max() <= 5
    with pytest.raises(DataError, match=r"'b' \(column 2\) is not numeric: line 3 holds 'x'"):
        from_csv("a,b,label\n1,2,0\n2,x,1\n3,4,0\n4,5,1\n", "bad.csv", 50, 0)
    with pytest.raises(DataError, match="two feature columns"):
        from_csv("1,2,3,0\n2,3,4,1\n3,4,5,0\n4,5,6,1\n", "wide.csv", 50, 0)


def test_a_bad_setting_names_the_field():
    with pytest.raises(ConfigError, match=r"'hidden': expected a list of at most 6 layers"):
        parse_config({"hidden": [{"units": 2, "activation": "tanh"}] * 10_000})
    with pytest.raises(ConfigError, match=r"'hidden\[1\].units': expected an integer from 1 to 8, got 9"):
        parse_config({"hidden": [{"units": 9, "activation": "tanh"}]})
    assert parse_config({"dataset": "digits", "loss": "cross_entropy", "hidden": [{"units": 32, "activation": "relu"}]})
    with pytest.raises(ConfigError, match="unknown field"):
        parse_config({"layers": 3})
    with pytest.raises(ConfigError, match="'lr'"):
        parse_config({"lr": float("nan")})
    with pytest.raises(ConfigError, match="regression"):
        parse_config({"dataset": "plane", "loss": "cross_entropy"})


def test_training_learns_the_circle():
    s = Session(parse_config({"lr": 0.1}))
    before = s.evaluate(s.test_x, s.test_t)[0]
    for _ in range(800):
        s.step()
    loss, accuracy = s.evaluate(s.test_x, s.test_t)
    assert loss < before / 3 and accuracy > 0.9


def test_one_epoch_is_one_pass():
    s = Session(parse_config({"batch_size": 30, "points": 200, "train_percent": 50}))
    s.run_epoch()
    assert s.epochs == 1 and s.steps == math.ceil(100 / 30)  # 30, 30, 30 and the last 10


def test_the_trace_of_a_playground_step_is_explains_trace_of_the_same_step():
    """The playground's step and `chainrule explain` on the same network, batch and rate give the same numbers."""
    s = Session(
        parse_config({"hidden": [{"units": 3, "activation": "sigmoid"}], "loss": "half_sse", "output": "sigmoid"})
    )
    s.step()
    mine = s.trace()
    spec = {
        "inputs": mine.spec.inputs.tolist(),
        "targets": mine.spec.targets.tolist(),
        "layers": [
            {"weight": w.tolist(), "bias": b.tolist(), "activation": a}
            for (w, b), a in zip(s.last.before, s.activations)
        ],
        "loss": "half_sse",
        "lr": s.config.lr,
    }
    theirs = trace_step(parse_network(spec))
    for a, b in zip(mine.layers, theirs.layers):
        for field in ("net", "out", "grad_out", "local", "grad_net", "grad_weight", "grad_bias", "new_weight"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-12, atol=1e-15)


def _torch_step(s, activations):
    """PyTorch's gradients for the playground's latest step: same weights before it, same batch, same loss."""
    last = s.last
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in last.before]
    h = torch.tensor(last.inputs)
    for (w, b), act in zip(params, activations):
        net = h @ w.T + b
        h = {
            "tanh": torch.tanh,
            "sigmoid": torch.sigmoid,
            "relu": torch.relu,
            "identity": lambda v: v,
            "leaky_relu": torch.nn.functional.leaky_relu,
            "gelu": torch.nn.functional.gelu,
            "softmax": lambda v: v,  # cross_entropy takes the logits
        }[act](net)
    t = torch.tensor(last.targets)
    loss = {
        "half_sse": lambda: 0.5 * ((h - t) ** 2).sum(),
        "mse": lambda: ((h - t) ** 2).mean(),
        "bce": lambda: torch.nn.functional.binary_cross_entropy(h, t),
        "cross_entropy": lambda: torch.nn.functional.cross_entropy(h, t),
    }[s.config.loss]()
    c = s.config
    if c.regularization != "none":
        terms = sum((w.abs().sum() if c.regularization == "l1" else (w * w).sum()) for w, _ in params)
        loss = loss + terms * (c.reg_rate if c.regularization == "l1" else c.reg_rate / 2)
    loss.backward()
    return params


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"loss": "half_sse", "output": "tanh", "hidden": [{"units": 5, "activation": "relu"}] * 2},
        {"dataset": "spiral", "classes": 3, "loss": "cross_entropy", "hidden": [{"units": 6, "activation": "gelu"}]},
        {
            "loss": "mse",
            "output": "linear",
            "hidden": [{"units": 4, "activation": "leaky_relu"}],
            "regularization": "l2",
            "reg_rate": 0.03,
        },
        {"regularization": "l1", "reg_rate": 0.01, "features": ["x1", "x2", "x1x2", "sin_x1"]},
        {"dataset": "plane", "loss": "mse", "output": "linear", "hidden": []},
    ],
)
def test_every_factor_product_is_the_engines_gradient_and_pytorchs(settings):
    s = Session(parse_config(settings))
    for _ in range(3):
        s.step()
    theirs = _torch_step(s, s.activations)
    for layer in range(1, len(s.params) + 1):
        w = s.params[layer - 1][0]
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                chain = s.chain(layer, i, j)
                assert chain["gradient"] == pytest.approx(float(w._grad.array[i, j]), rel=1e-12, abs=1e-15)
                assert chain["gradient"] == pytest.approx(float(theirs[layer - 1][0].grad[i, j]), rel=1e-9, abs=1e-12)
                # the rows' products add up to dE/dw, the data part of what the engine computed
                total = sum(s.chain(layer, i, j, row)["row_product"] for row in range(chain["rows"]))
                assert total == pytest.approx(chain["data_gradient"], rel=1e-9, abs=1e-13)
                assert chain["data_gradient"] + (chain["penalty"] or 0.0) == pytest.approx(chain["gradient"], abs=1e-13)
            bias = s.chain(layer, i)
            assert bias["gradient"] == pytest.approx(float(theirs[layer - 1][1].grad[i]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_the_update_shown_is_the_update_applied(optimizer):
    s = Session(parse_config({"optimizer": optimizer, "lr": 0.01}))
    for _ in range(4):
        s.step()
    for layer, i, j in [(1, 0, 1), (2, 1, 3), (3, 0, 0), (2, 0, None)]:
        chain = s.chain(layer, i, j)
        update = chain["update"]
        param = s.params[layer - 1][0 if j is not None else 1]
        index = (i, j) if j is not None else (i,)
        assert update["new"] == float(param.array[index]) == chain["new"]
        assert update["result"] == pytest.approx(update["new"], rel=1e-12, abs=1e-15)  # the rule, with its numbers
        assert update["old"] == chain["old"] != chain["new"]


def test_dropout_enters_the_local_derivative():
    s = Session(parse_config({"dropout": 0.5, "hidden": [{"units": 8, "activation": "tanh"}]}))
    s.step()
    layer = s.trace().layers[0]
    kept = layer.out != 0
    assert kept.any() and (~kept).any()
    # d out / d net = tanh'(net) * mask / (1 - p): 0 where dropped, 2 (1 - tanh²) where kept
    expected = np.where(kept, 2 * (1 - np.tanh(layer.net) ** 2), 0.0)
    np.testing.assert_allclose(layer.local, expected, rtol=1e-12)
    row, unit = map(int, np.argwhere(kept)[0])
    text = "\n".join(b[1].u for b in parameter_chain(s.trace(), 1, unit, 0, row).document.blocks if b[0] == "eq")
    assert "tanh′(net) · mask / 0.5  (dropout 0.5)" in text


def test_a_step_trace_shows_itself_as_html_in_a_notebook():
    trace = trace_step(
        parse_network({"inputs": [[1.0, 2.0]], "targets": [[1.0]], "layers": [{"weight": [[0.1, 0.2]]}]})
    )
    html = trace._repr_html_()
    assert html.startswith('<div class="chainrule-explain">') and "\\[" in html and "\\frac{\\partial E}" in html


def test_downloads(tmp_path):
    import chainrule as cr

    s = Session(parse_config({"hidden": [{"units": 3, "activation": "relu"}]}))
    for _ in range(5):
        s.step()
    s.frame()
    path = tmp_path / "model.safetensors"
    cr.save(s.model_state(), path)
    loaded = cr.load(path)
    np.testing.assert_array_equal(loaded["state_dict"]["layers.0.weight"].numpy(), s.params[0][0].array)
    assert loaded["activations"] == ["relu", "sigmoid"]
    history = s.history_csv().splitlines()
    assert history[0].startswith("step,epoch,train_loss,test_loss,grad_norm_layer1") and history[1].startswith("5,")
    data = s.data_csv().splitlines()
    assert data[0] == "x1,x2,label" and len(data) == 1 + len(s.train_x) + len(s.test_x)


def test_a_growing_loss_names_the_last_rate_under_which_it_did_not_grow():
    from chainrule.playground.config import parse_config
    from chainrule.playground.session import Session

    session = Session(parse_config({"dataset": "circle", "lr": 0.03}))
    for _ in range(50):  # a rate counts once it has had 50 steps
        session.step()
    session.history = []
    for k in range(40):  # a falling loss, frame after frame
        session.history.append([k, 0, 1.0 - 0.01 * k, 1.0] + session.last_norms)
        assert not [w for w in session.warnings() if w["kind"] == "growing"]
    assert session.good_lr == 0.03
    session.retrain(parse_config(session.config.to_dict() | {"lr": 1.0}))
    session.step()
    for _ in range(20):  # a new best 20 steps after the change (a large rate's first, lucky slice): too soon
        session.step()
    session.history.append([41, 0, 0.5, 1.0] + session.last_norms)
    session.warnings()
    assert session.good_lr == 0.03
    session.retrain(parse_config(session.config.to_dict() | {"lr": 3.0}))
    session.history += [[40 + k, 0, 0.6 + 0.1 * k, 1.0] + session.last_norms for k in range(40)]
    (growing,) = [w for w in session.warnings() if w["kind"] == "growing"]
    assert "learning rate 3 is too large" in growing["text"] and "did not grow was 0.03" in growing["text"]


def test_a_good_rate_is_known_from_few_frames_on_a_loaded_machine():
    """A loaded machine sends fewer frames for the same steps: two frames at a new best, many steps apart, are
    enough to know the rate under which the loss fell (the browser test of a too-large rate failed so)."""
    from chainrule.playground.config import parse_config
    from chainrule.playground.session import Session

    session = Session(parse_config({"dataset": "circle", "lr": 0.03}))
    for _ in range(50):
        session.step()
    session.history = [[25, 0, 0.7, 1.0] + session.last_norms, [50, 0, 0.6, 1.0] + session.last_norms]
    session.warnings()
    assert session.good_lr == 0.03
