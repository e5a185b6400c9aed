"""``torch.backends`` as beginner code reaches for it, to pick a device: chainrule has neither Apple's MPS nor
cuDNN (its GPU path is CuPy, ``chainrule.cuda.is_available()``), and cuDNN's flags are kept so that setting
them changes nothing, as on a PyTorch build without cuDNN."""

from __future__ import annotations

from types import SimpleNamespace

mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = SimpleNamespace(
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=True,
    is_available=lambda: False,
    version=lambda: None,
)
mkldnn = SimpleNamespace(is_available=lambda: False, enabled=False)
openmp = SimpleNamespace(is_available=lambda: False)
