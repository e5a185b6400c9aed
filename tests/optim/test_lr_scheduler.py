import pytest
import torch

from chainrule import nn, optim
from chainrule.errors import ConfigError
from chainrule.optim import lr_scheduler as sched


def _pair(name, **kwargs):
    ours_opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5)
    theirs_opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.5)
    return getattr(sched, name)(ours_opt, **kwargs), getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("StepLR", dict(step_size=3, gamma=0.5)),
        ("ExponentialLR", dict(gamma=0.9)),
        ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
        ("LinearLR", dict(start_factor=0.1, total_iters=4)),
    ],
)
def test_schedules_match_pytorch(name, kwargs):
    ours, theirs = _pair(name, **kwargs)
    for _ in range(25):
        assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-10, abs=1e-14)
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()


def test_reduce_on_plateau_matches_pytorch():
    ours, theirs = _pair("ReduceLROnPlateau", patience=2, factor=0.5, cooldown=1)
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.8, 0.85, 0.86, 0.87, 0.9, 0.9, 0.9, 0.9]
    for m in metrics:
        ours.step(m)
        theirs.step(m)
        assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-12)


def test_scheduler_rejects_nonsense():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ConfigError):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ConfigError):
        sched.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ConfigError):
        sched.ExponentialLR(opt, gamma=-1)
