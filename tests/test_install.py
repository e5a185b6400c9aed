"""`make demo` installs only what the demo needs: no PyTorch, no test tools (issue 15)."""

import os
import re
import tomllib

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _makefile() -> str:
    with open(os.path.join(ROOT, "Makefile")) as f:
        return f.read()


def test_the_demo_target_needs_only_the_demo_install():
    makefile = _makefile()
    demo = re.search(r"^demo:(.*)$", makefile, re.M).group(1)
    assert "$(DEMO_STAMP)" in demo and "$(STAMP)" not in demo.replace("$(DEMO_STAMP)", "")
    recipe = re.search(r"^\$\(DEMO_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "'.[all]'" in recipe and "dev" not in recipe


def test_the_demo_extras_hold_no_torch_and_no_test_tools():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    assert not any(
        name.startswith(("torch", "pytest", "hypothesis", "ruff", "import-linter")) for name in extras["all"]
    )
    assert "torch==2.13.0" in extras["dev"]
