"""The learner's view: the chain rule step by step with real numbers, graph drawing, and diagnostics."""

from .equations import build_document
from .formats import FORMATS, to_json
from .formats import render as render_step
from .graph import render, to_dot
from .network import EXAMPLE, NetworkSpec, load_network, parse_network
from .trace import StepTrace, trace_step


def explain(spec=None, fmt: str = "text", steps: int = 1, digits: int = 9) -> str:
    """The worked example for ``spec`` (a dict as in EXAMPLE, a NetworkSpec, or None for the example)."""
    if spec is None or isinstance(spec, dict):
        spec = parse_network(spec or EXAMPLE)
    return render_step(trace_step(spec, steps=steps), fmt, digits)


__all__ = [
    "EXAMPLE",
    "FORMATS",
    "NetworkSpec",
    "StepTrace",
    "build_document",
    "explain",
    "load_network",
    "parse_network",
    "render",
    "render_step",
    "to_dot",
    "to_json",
    "trace_step",
]
