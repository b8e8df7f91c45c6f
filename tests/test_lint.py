"""Static checks that belong to the test run: ruff style and the import layering."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(exe).exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return exe


def test_import_layers_point_down_only():
    """DESIGN.md's layering, enforced by the import-linter contracts in pyproject.toml."""
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_clean():
    result = subprocess.run([_tool("ruff"), "check", "neuroattn", "tests", "benchmarks",
                             "tutorials", "tools"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_data_layer_does_not_import_torch_modules():
    """``data`` knows nothing of torch modules (import-linter cannot forbid ``torch.nn``)."""
    import ast

    offenders = []
    for path in (ROOT / "neuroattn" / "data").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n == "torch.nn" or n.startswith("torch.nn.")]
    assert not offenders, offenders
