"""The documentation site builds: API reference, dataset table, design notes, gallery pages.

One Sphinx build (html, warnings are errors, the gallery made without running the
tutorials) of a copy of ``docs/`` in a temporary folder, so the repository is not
written to; the checks below read its output.
"""

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("_build", "api", "auto_tutorials", "sg_execution_times.rst", "__pycache__")

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("sphinx_gallery", reason="sphinx-gallery is not installed (.[docs])")


def _public_modules() -> list[str]:
    """Every public module of neuroattn but the command line layers (found here, not in docs/)."""
    import neuroattn

    names = ["neuroattn"]
    for info in pkgutil.walk_packages(neuroattn.__path__, "neuroattn."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or parts[1] in ("cli", "commands"):
            continue
        names.append(info.name)
    return names


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    src, out, warnings = tmp / "src", tmp / "html", tmp / "warnings.txt"
    shutil.copytree(ROOT / "docs", src, ignore=shutil.ignore_patterns(*GENERATED))
    env = {**os.environ, "NEUROATTN_DOCS_REPO": str(ROOT), "NEUROATTN_DOCS_RUN_GALLERY": "0",
           "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-w", str(warnings), str(src), str(out)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
    text = warnings.read_text() if warnings.is_file() else ""
    return result, text, out


def test_no_module_fails_to_import(built):
    result, warnings, _ = built
    failed = [line for line in warnings.splitlines() if "failed to import" in line]
    assert not failed, "\n".join(failed)


def test_build_has_no_warnings(built):
    result, warnings, _ = built
    assert result.returncode == 0 and not warnings.strip(), (
        f"sphinx-build exited {result.returncode}\n{warnings}\n{result.stderr[-3000:]}")


def test_a_page_per_public_module(built):
    *_, out = built
    missing = [m for m in _public_modules() if not (out / "api" / f"{m}.html").is_file()
               or f'id="module-{m}"' not in (out / "api" / f"{m}.html").read_text()]
    assert not missing, f"no API page for {missing}"


def test_every_public_name_is_documented(built):
    """Each name of an ``__all__`` is described (or linked) under a module that exports it."""
    *_, out = built
    raw = (out / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()  # after the 4 header lines
    documented = {line.split(" ", 1)[0] for line in body.splitlines()}
    modules = {m: importlib.import_module(m) for m in _public_modules()}
    missing = []
    for modname, module in modules.items():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            homes = [m for m, mod in modules.items()
                     if name in getattr(mod, "__all__", ()) and getattr(mod, name) is obj]
            if not any(f"{home}.{name}" in documented for home in homes):
                missing.append(f"{modname}.{name}")
    assert not missing, f"not documented: {missing}"


def test_dataset_table_lists_every_card(built):
    from docutils.nodes import make_id

    from neuroattn.datasets import dataset_card, list_datasets

    *_, out = built
    page = (out / "datasets.html").read_text()
    table = re.search(r'<table[^>]*datasets-table.*?</table>', page, re.S)
    assert table, "datasets.html has no dataset table"
    rows = re.findall(r'href="#(dataset-[\w-]+)"', table.group(0))
    names = list_datasets()
    assert rows == [make_id(f"dataset-{name}") for name in names]
    for name, anchor in zip(names, rows):
        assert f'id="{anchor}"' in page, f"no section for card {name}"
        assert dataset_card(name).doi.strip() in page


def test_design_page_exists(built):
    *_, out = built
    page = (out / "design.html").read_text()
    assert "neuroattn design" in page and 'id="glossary"' in page


def test_tutorials_are_the_gallery(built):
    *_, out = built
    tutorials = sorted(p.stem for p in (ROOT / "tutorials").glob("plot_*.py"))
    assert tutorials
    missing = [t for t in tutorials if not (out / "auto_tutorials" / f"{t}.html").is_file()]
    assert not missing, f"no gallery page for {missing}"
