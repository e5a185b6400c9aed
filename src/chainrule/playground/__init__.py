"""The playground: a local web page that trains a small network on chainrule's engine while you watch,
and shows any weight's chain rule for the step it just took. ``chainrule playground`` starts it.

``Session`` (one per browser tab) holds the data, the network and its optimizer; ``protocol`` turns the
page's messages into calls on it; ``server`` (Starlette, an optional extra) serves the page and the
WebSocket.
"""

from .config import PlaygroundConfig, parse_config
from .session import Session

__all__ = ["PlaygroundConfig", "Session", "parse_config"]
