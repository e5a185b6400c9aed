"""The schedulers transformer code uses, against PyTorch's: the learning rate (and OneCycleLR's momentum or
beta1) at every step of a run."""

import numpy as np
import pytest
import torch

import chainrule as cr


def run(L, make_optimizer, make_scheduler, steps):
    p = torch.nn.Parameter(torch.zeros(2)) if L is torch else cr.nn.Parameter(cr.zeros(2))
    q = torch.nn.Parameter(torch.zeros(2)) if L is torch else cr.nn.Parameter(cr.zeros(2))
    opt = make_optimizer(L, [{"params": [p]}, {"params": [q], "lr": 0.05}])
    scheduler = make_scheduler(L, opt)
    seen = []
    for _ in range(steps):
        group = opt.param_groups[0]
        seen.append([g["lr"] for g in opt.param_groups] + [group.get("momentum", group.get("betas", (0,))[0])])
        opt.step()
        scheduler.step()
    return np.array(seen)


SGD = lambda L, groups: L.optim.SGD(groups, lr=0.1, momentum=0.9)  # noqa: E731
ADAM = lambda L, groups: L.optim.Adam(groups, lr=0.1)  # noqa: E731
S = lambda L: L.optim.lr_scheduler  # noqa: E731

CASES = {
    "LambdaLR": (SGD, lambda L, o: S(L).LambdaLR(o, lambda e: 0.9**e), 12),
    "LambdaLR_per_group": (SGD, lambda L, o: S(L).LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: e % 3]), 9),
    "MultiStepLR": (SGD, lambda L, o: S(L).MultiStepLR(o, [3, 7, 7], gamma=0.5), 12),
    "CosineAnnealingWarmRestarts": (SGD, lambda L, o: S(L).CosineAnnealingWarmRestarts(o, 4, eta_min=0.01), 14),
    "CosineAnnealingWarmRestarts_mult": (SGD, lambda L, o: S(L).CosineAnnealingWarmRestarts(o, 2, T_mult=2), 20),
    "OneCycleLR_sgd": (SGD, lambda L, o: S(L).OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=20), 20),
    "OneCycleLR_adam_linear": (
        ADAM,
        lambda L, o: S(L).OneCycleLR(o, max_lr=0.3, epochs=3, steps_per_epoch=5, anneal_strategy="linear"),
        15,
    ),
    "OneCycleLR_three_phase": (SGD, lambda L, o: S(L).OneCycleLR(o, 0.8, total_steps=30, three_phase=True), 30),
    "SequentialLR_warmup_cosine": (
        SGD,
        lambda L, o: S(L).SequentialLR(
            o, [S(L).LinearLR(o, start_factor=0.1, total_iters=4), S(L).CosineAnnealingLR(o, T_max=10)], milestones=[4]
        ),
        16,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_pytorch(name):
    make_optimizer, make_scheduler, steps = CASES[name]
    theirs = run(torch, make_optimizer, make_scheduler, steps)
    ours = run(cr, make_optimizer, make_scheduler, steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_one_cycle_refuses_a_step_past_the_end_and_bad_settings():
    p = cr.nn.Parameter(cr.zeros(1))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
    scheduler = cr.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(cr.errors.ConfigError, match="OneCycleLR: tried to step 3 times"):
        scheduler.step()
    with pytest.raises(cr.errors.ConfigError, match="give total_steps, or epochs and steps_per_epoch"):
        cr.optim.lr_scheduler.OneCycleLR(opt, 1.0)
    with pytest.raises(cr.errors.ConfigError, match="SequentialLR: expected 1 increasing milestones"):
        cr.optim.lr_scheduler.SequentialLR(opt, [cr.optim.lr_scheduler.StepLR(opt, 2)] * 2, milestones=[])
