"""Every op as a plain function, as ``torch.nn.functional`` (import chainrule.functional as F)."""

from .ops import *  # noqa: F401,F403
from .ops import __all__  # noqa: F401
from .ops.attention import scaled_dot_product_attention  # noqa: F401
from .ops.conv import avg_pool2d, conv2d, max_pool2d  # noqa: F401
from .ops.count import one_hot  # noqa: F401
from .ops.pad import pad  # noqa: F401
from .ops.pick import embedding
from .ops.regularize import (  # noqa: F401
    batch_norm,
    dropout,
    dropout2d,
    layer_norm,
    normalize,
)
from .ops.sequence import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    conv1d,
    group_norm,
    max_pool1d,
    rms_norm,
)
from .ops.unfold import fold, unfold  # noqa: F401

__all__ = __all__ + [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "group_norm",
    "max_pool1d",
    "rms_norm",
    "conv2d",
    "max_pool2d",
    "batch_norm",
    "dropout",
    "dropout2d",
    "embedding",
    "normalize",
    "one_hot",
    "pad",
    "scaled_dot_product_attention",
    "layer_norm",
    "unfold",
    "fold",
]
