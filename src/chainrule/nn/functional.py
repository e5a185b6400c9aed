"""``chainrule.nn.functional``, as torch.nn.functional (``import chainrule.nn.functional as F``)."""

from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
