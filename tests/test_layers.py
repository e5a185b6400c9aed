"""The house holds: every import in chainrule points down a floor (the layers contract in pyproject.toml)."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_imports_point_only_down_a_floor():
    lint_imports = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_has_no_exemptions():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        config = f.read()
    contract = config[config.index("[tool.importlinter]") :]
    assert "ignore_imports" not in contract and "unmatched_ignore_imports_alerting" not in contract
