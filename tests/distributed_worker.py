"""Run under mpirun by test_distributed.py: a few data-parallel steps, or a rank that dies."""

import os
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import distributed


class SharedWeights(nn.Module):
    """One hidden layer applied twice: its gradient is accumulated twice in each backward."""

    def __init__(self):
        super().__init__()
        self.first, self.shared, self.head = nn.Linear(5, 16), nn.Linear(16, 16), nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.shared(self.shared(self.first(x).tanh()).tanh()).tanh())


def setup(seed=0, shared=False):
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = SharedWeights() if shared else nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    return X, y, model


def main(mode: str, out: str, steps: int = 6, batch: int = 4):
    rank, world = distributed.init()
    X, y, model = setup(shared=mode == "shared")
    if rank != 0:  # different initial weights on purpose: the broadcast must make them equal
        for p in model.parameters():
            p.data += 1.0
    distributed.broadcast_parameters(model)
    # "shared": one bucket per parameter, so the twice-used layer's bucket starts reducing before its
    # second gradient arrives and must be reduced again
    opt = distributed.DistributedOptimizer(
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        bucket_bytes=1 if mode == "shared" else distributed.BUCKET_BYTES,
    )
    sampler = distributed.DistributedSampler(len(X), seed=3)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch, sampler=sampler)
    loss_fn = nn.CrossEntropyLoss()
    for step, (x, t) in enumerate(loader):
        if step == steps:
            break
        if mode == "die" and rank == 1 and step == 2:
            os._exit(3)
        if mode == "hang" and rank == 1 and step == 2:
            time.sleep(600)  # alive but silent: only a timeout can tell
        opt.zero_grad()
        loss_fn(model(x), t).backward()
        opt.step()
    cr.save(model.state_dict(), os.path.join(out, f"rank{rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
