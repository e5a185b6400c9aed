"""``chainrule.nn.functional``, as torch.nn.functional (``import chainrule.nn.functional as F``)."""

# chainrule.functional's names: the ops, then the layers' functions it adds. (Both star imports, rather than the
# second alone, so that type checkers, which read a literal __all__ only, find every name.)
from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
from ..ops import *  # noqa: F401,F403
