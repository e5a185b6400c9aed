"""Optimizers by name (optim/by_name.py): the one registry the command, the playground and explain share."""

import pytest

import chainrule as cr
from chainrule import optim


def _params():
    return [cr.nn.Parameter(cr.ones(2))]


@pytest.mark.parametrize("name", optim.OPTIMIZER_NAMES)
def test_every_name_builds_its_optimizer_with_the_rate_and_decay(name):
    opt = optim.make_optimizer(name, _params(), lr=0.05, weight_decay=0.01)
    expected = optim.SGD if name in ("momentum", "nesterov") else optim.OPTIMIZERS[name]
    assert type(opt) is expected
    group = opt.param_groups[0]
    assert group["lr"] == 0.05 and group["weight_decay"] == 0.01
    assert name in optim.OPTIMIZER_TITLES


def test_the_shorthands_are_sgd_with_momentum():
    plain = optim.make_optimizer("sgd", _params(), lr=0.1).param_groups[0]
    heavy = optim.make_optimizer("momentum", _params(), lr=0.1, momentum=0.8).param_groups[0]
    nesterov = optim.make_optimizer("nesterov", _params(), lr=0.1).param_groups[0]
    assert plain["momentum"] == 0 and not plain["nesterov"]
    assert heavy["momentum"] == 0.8 and not heavy["nesterov"]
    assert nesterov["momentum"] == 0.9 and nesterov["nesterov"]


def test_an_unknown_name_is_refused_with_the_list():
    with pytest.raises(ValueError, match="expected one of sgd, adagrad.*got 'lbfgs'"):
        optim.make_optimizer("lbfgs", _params(), lr=0.1)


def test_the_command_and_the_playground_offer_only_registered_names():
    from chainrule.app.config import OPTIMIZERS as command
    from chainrule.playground.config import OPTIMIZERS as page

    assert set(command) == set(optim.OPTIMIZER_NAMES)
    assert set(page) <= set(optim.OPTIMIZER_NAMES)


@pytest.mark.parametrize("name", optim.OPTIMIZER_NAMES)
def test_each_optimizer_states_its_rule_and_its_states_symbols(name):
    """What the playground's panel shows: the rule in symbols, and a symbol for each state entry it keeps."""
    params = _params()
    opt = optim.make_optimizer(name, params, lr=0.1)
    params[0].grad = cr.ones(2)
    opt.step()
    rule = opt.update_rule(opt.param_groups[0])
    assert "w ←" in rule or "w ← w" in rule
    state = opt.state[id(params[0])]
    for key in opt.state_symbols:  # (plain SGD keeps no momentum buffer: the panel shows it empty)
        assert key in state or name == "sgd", (name, key)
