"""The benchmarks' workloads, built alike for chainrule and PyTorch: the same model, initial seed, data
and steps. Each library is imported inside its own builders, so a process that times one library never
loads the other (its idle worker threads would take the cores from the one being timed)."""

from __future__ import annotations

import os
import resource
import time

import numpy as np


def data(n=60000, seed=0):
    """n random 784-pixel 'images' and 10-class labels, the MLP's data (the same bits in every process)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def blas_info() -> str:
    """The BLAS and OpenMP libraries loaded in this process, their kernels and thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    infos = threadpool_info()
    return (
        "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')} ({i.get('num_threads')} "
            f"threads, {os.path.basename(i.get('filepath', ''))})"
            for i in infos
        )
        or "none found"
    )


def library(name: str):
    if name == "torch":
        import torch

        return torch
    import chainrule

    return chainrule


# ------------------------------------------------------------------ MLP epoch
# The builders take a device so that benchmarks/gpu.py times the same networks on a GPU (X, y there
# already in GPU memory).
def chainrule_mlp_epoch(X, y, batch, width=256, device="cpu"):
    import chainrule as cr
    from chainrule import nn, optim

    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    ).to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss = loss_fn(model(cr.from_numpy(X[i : i + batch])), cr.from_numpy(y[i : i + batch]))
            loss.backward()
            opt.step()

    return epoch


def torch_mlp_epoch(X, y, batch, width=256, device="cpu"):
    import torch

    torch.manual_seed(0)
    T = torch.nn
    model = T.Sequential(T.Linear(784, width), T.ReLU(), T.Linear(width, width), T.ReLU(), T.Linear(width, 10)).to(
        device
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)  # no copy where X already is there

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss = loss_fn(model(Xt[i : i + batch]), yt[i : i + batch])
            loss.backward()
            opt.step()

    return epoch


def floor_epoch(X, batch):
    """The same step's matrix products alone, in NumPy: 3 forward, 3 weight-gradient, 2 input-gradient."""
    rng = np.random.default_rng(0)
    W = [rng.standard_normal(s).astype(np.float32) for s in ((256, 784), (256, 256), (10, 256))]
    h = [np.empty((batch, 256), np.float32), np.empty((batch, 256), np.float32)]
    g = np.ones((batch, 10), np.float32)
    g2 = np.empty((batch, 256), np.float32)

    def epoch():
        for i in range(0, len(X), batch):
            x = X[i : i + batch]
            n = len(x)
            a1 = np.matmul(x, W[0].T, out=h[0][:n])
            a2 = np.matmul(a1, W[1].T, out=h[1][:n])
            np.matmul(a2, W[2].T)
            np.matmul(g[:n].T, a2)
            d2 = np.matmul(g[:n], W[2], out=g2[:n])
            np.matmul(d2.T, a1)
            d1 = np.matmul(d2, W[1])
            np.matmul(d1.T, x)

    return epoch


# ------------------------------------------------------------------ CNN step
def cnn_input(batch):
    rng = np.random.default_rng(0)
    return rng.random((batch, 1, 28, 28), dtype=np.float32), np.random.default_rng(1).integers(0, 10, batch)


def cnn_step(L, batch=128, device="cpu"):
    """The small CNN's training step (conv16-pool-conv32-pool-linear, SGD with momentum), the same PyTorch
    code for both libraries: ``L`` is torch or chainrule."""
    L.manual_seed(0)
    nn = L.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1568, 10),
    ).to(device)
    opt = L.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = cnn_input(batch)
    x, y = L.from_numpy(images).to(device), L.from_numpy(labels).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def chainrule_cnn_step(batch=128, device="cpu"):
    return cnn_step(library("chainrule"), batch, device)


def torch_cnn_step(batch=128, device="cpu"):
    return cnn_step(library("torch"), batch, device)


def cnn_breakdown(steps: int = 30) -> list:
    """Where a chainrule CNN step spends its time: ms per step in each op's forward and backward."""
    from chainrule.node import Node

    totals: dict = {}

    def timed(cls, name):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                key = (cls.op_name(), name)
                totals[key] = totals.get(key, 0.0) + time.perf_counter() - start

        return original, wrapper

    classes = set()
    stack = list(Node.__subclasses__())
    while stack:
        cls = stack.pop()
        classes.add(cls)
        stack.extend(cls.__subclasses__())
    saved = []
    for cls in classes:
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                original, wrapper = timed(cls, name)
                saved.append((cls, name, original))
                setattr(cls, name, wrapper)
    try:
        step = chainrule_cnn_step()
        for _ in range(3):  # kernels loaded, pool and workspace filled
            step()
        totals.clear()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        whole = (time.perf_counter() - start) / steps * 1e3
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)
    rows = sorted(((op, direction, t / steps * 1e3) for (op, direction), t in totals.items()), key=lambda r: -r[2])
    rows.append(("(everything else: optimizer, graph, Python)", "", whole - sum(r[2] for r in rows)))
    return rows


# ------------------------------------------------------------------ per-op overhead
def chainrule_chain(n=1000, device="cpu"):
    import chainrule as cr

    def run():
        x = cr.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
        y = x.to(device)
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


def torch_chain(n=1000, device="cpu"):
    import torch

    def run():
        x = torch.ones(4, requires_grad=True, device=device)
        y = x
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


# ------------------------------------------------------------------ memory
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_check(X, y, steps=10000, batch=128):
    """Resident memory after 1,000 and after `steps` MLP steps (flat means nothing is kept alive), and the peak."""
    import chainrule as cr
    from chainrule import nn, optim

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = len(X) // batch
    marks = {}
    for step in range(1, steps + 1):
        i = (step % n) * batch
        opt.zero_grad()
        loss_fn(model(cr.from_numpy(X[i : i + batch])), cr.from_numpy(y[i : i + batch])).backward()
        opt.step()
        if step in (1000, steps):
            marks[step] = rss_mb()
    return marks, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ sequence models
# One builder for both libraries, as cnn_step: the code is PyTorch's, and ``L`` is torch or chainrule.
def _tokens(L, vocab: int, batch: int, length: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return L.tensor(rng.integers(0, vocab, (batch, length))), L.tensor(rng.integers(0, vocab, (batch, length)))


def gpt_step(L, layers=4, heads=4, width=128, context=64, batch=32, vocab=65):
    """A character-level GPT's training step: token and position embeddings, pre-norm causal transformer
    blocks, a final LayerNorm and a linear head; cross-entropy; AdamW."""
    nn = L.nn
    L.manual_seed(0)

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(vocab, width), nn.Embedding(context, width)
            block = nn.TransformerEncoderLayer(width, heads, 4 * width, 0.0, batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)
            self.mask = nn.Transformer.generate_square_subsequent_mask(context)

        def forward(self, idx):
            x = self.tokens(idx) + self.positions(L.arange(idx.shape[1]))
            return self.head(self.norm(self.blocks(x, mask=self.mask, is_causal=True)))

    model = GPT()
    opt = L.optim.AdamW(model.parameters(), lr=3e-4)
    x, y = _tokens(L, vocab, batch, context)

    def step():
        opt.zero_grad()
        L.nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1)).backward()
        opt.step()

    return step


def lstm_step(L, layers=2, hidden=256, steps=64, batch=32, vocab=65, embed=64):
    """A 2-layer LSTM language model's training step (embedding, LSTM, linear head; cross-entropy; Adam)."""
    nn = L.nn
    L.manual_seed(0)
    embedding, lstm, head = nn.Embedding(vocab, embed), nn.LSTM(embed, hidden, layers, batch_first=True), None
    head = nn.Linear(hidden, vocab)
    params = list(embedding.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = L.optim.Adam(params, lr=1e-3)
    x, y = _tokens(L, vocab, batch, steps)

    def step():
        opt.zero_grad()
        out, _ = lstm(embedding(x))
        L.nn.functional.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1)).backward()
        opt.step()

    return step


def wavenet_step(L, batch=32, block=8, vocab=27, embed=24, hidden=128):
    """makemore's WaveNet-style stack: embeddings, consecutive characters merged pairwise in three levels,
    each Linear, BatchNorm1d (over (N, C, L)) and tanh; cross-entropy of the next character; SGD."""
    nn = L.nn
    L.manual_seed(0)

    class Level(nn.Module):
        def __init__(self, fan_in):
            super().__init__()
            self.linear, self.norm = nn.Linear(fan_in, hidden, bias=False), nn.BatchNorm1d(hidden)

        def forward(self, x):  # (N, L, C): merge pairs of steps, then Linear, BatchNorm over channels, tanh
            n, length, c = x.shape
            x = self.linear(x.reshape(n, length // 2, 2 * c))
            x = self.norm(x.transpose(1, 2)).transpose(1, 2) if x.shape[1] > 1 else self.norm(x.squeeze(1)).unsqueeze(1)
            return L.tanh(x)

    model = nn.Sequential(nn.Embedding(vocab, embed), Level(2 * embed), Level(2 * hidden), Level(2 * hidden))
    head = nn.Linear(hidden, vocab)
    opt = L.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.1)
    rng = np.random.default_rng(0)
    x, y = L.tensor(rng.integers(0, vocab, (batch, block))), L.tensor(rng.integers(0, vocab, batch))

    def step():
        opt.zero_grad()
        L.nn.functional.cross_entropy(head(model(x).squeeze(1)), y).backward()
        opt.step()

    return step


def command_lm_step(L, kind, batch=64, block=16, vocab=27):
    """A training step of the language models `chainrule train --data names` builds (nn.CharLM), written as
    PyTorch code for both libraries: --model transformer --embed 64 --layers 2 (4 heads, GELU, pre-norm, the last
    position read), or --model lstm --embed 32 --hidden 128; batch 64 of 16 characters; Adam lr 1e-3."""
    nn = L.nn
    L.manual_seed(0)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            width = 64 if kind == "transformer" else 32
            self.embedding = nn.Embedding(vocab, width)
            if kind == "transformer":
                self.position = nn.Embedding(block, width)
                layer = nn.TransformerEncoderLayer(
                    width, 4, 4 * width, 0.0, activation="gelu", batch_first=True, norm_first=True
                )
                self.blocks = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)
                self.mask = L.triu(L.ones(block, block, dtype=L.bool), 1)
            else:
                self.rnn, self.head = nn.LSTM(width, 128, batch_first=True), nn.Linear(128, vocab)

        def forward(self, ids):
            x = self.embedding(ids)
            if kind == "transformer":
                x = self.blocks(x + self.position.weight, mask=self.mask, is_causal=True)
                return self.head(self.norm(x[:, -1]))
            return self.head(self.rnn(x)[0][:, -1])

    model = Model()
    opt = L.optim.Adam(model.parameters(), lr=1e-3)
    x, y = _tokens(L, vocab, batch, block)

    def step():
        opt.zero_grad()
        L.nn.functional.cross_entropy(model(x), y[:, -1]).backward()
        opt.step()

    return step
