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
    """docs/design.md's layering, enforced by the import-linter contracts in pyproject.toml."""
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


def test_design_document_names_every_subpackage_and_model():
    """docs/design.md (the layers, tracks and glossary) keeps up with the package."""
    from neuroattn import list_models

    design = ROOT / "docs" / "design.md"
    assert design.is_file(), "docs/design.md is missing"
    text = design.read_text()
    package = ROOT / "neuroattn"
    subpackages = sorted(p.name for p in package.iterdir() if (p / "__init__.py").is_file())
    subpackages += sorted(f"data/{p.name}" for p in (package / "data").iterdir()
                          if (p / "__init__.py").is_file())
    missing = [f"neuroattn/{name}" for name in subpackages
               if f"neuroattn.{name}" not in text and f"{name}/" not in text]
    missing += [f"model {name}" for name in list_models() if f"`{name}`" not in text]
    assert not missing, f"docs/design.md does not mention {missing}"


def test_pyproject_and_readme_point_at_the_design_document():
    head = (ROOT / "pyproject.toml").read_text().split("[build-system]")[0]
    assert "docs/design.md" in head, "pyproject.toml's opening comment names docs/design.md"
    assert "(docs/design.md)" in (ROOT / "README.md").read_text()
