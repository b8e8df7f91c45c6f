"""Sphinx configuration of the neuroattn documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -b html docs docs/_build/html

The tutorials (``tutorials/plot_*.py``) are the sphinx-gallery gallery. They are run
and their figures captured unless ``NEUROATTN_DOCS_RUN_GALLERY=0`` (then the pages are
made from the scripts without running them, as ``tests/test_docs.py`` does). Run, they
behave as for a user: public data fetched on first use, full size. For a short offline
build set ``NEUROATTN_QUICK=1`` and ``NEUROATTN_DATA=<local copy>`` (a tutorial whose data
is absent stops with one line; sphinx-gallery records it and the build goes on). The API
pages (``api/``) and the dataset table are made at build time by ``_ext/neuroattn_docs.py``
from the package itself.

``NEUROATTN_DOCS_REPO`` points the build at another checkout (the test builds a copy of
``docs/`` in a temporary folder and sets it to this repository).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("NEUROATTN_DOCS_REPO", HERE.parent)).resolve()
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(REPO))

import neuroattn  # noqa: E402

RUN_GALLERY = os.environ.get("NEUROATTN_DOCS_RUN_GALLERY", "1").strip().lower() not in (
    "0", "false", "no", "off", "")

project = "neuroattn"
author = "neuroattn developers"
copyright = "neuroattn developers, BSD-3-Clause"  # noqa: A001
release = neuroattn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "neuroattn_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "auto_tutorials/*.ipynb", "**/*.py.md5",
                    "auto_tutorials/*.py", "auto_tutorials/*.zip", "auto_tutorials/*.json"]
templates_path = []

# autodoc / autosummary / numpydoc
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
autodoc_default_options = {"exclude-members": "__init__, forward_features, forward_head"}
autosummary_generate = False  # the API pages are written by neuroattn_docs
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# myst: docs/design.md is a page as it stands
myst_heading_anchors = 3

# sphinx-gallery: the tutorials, run (or not) with their figures
sphinx_gallery_conf = {
    "examples_dirs": [str(REPO / "tutorials")],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/plot_",
    "plot_gallery": RUN_GALLERY,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}
if RUN_GALLERY:
    # The tutorials write their own files to $NEUROATTN_OUT: keep them in the build folder.
    os.environ.setdefault("NEUROATTN_OUT", str(HERE / "_build" / "tutorial_output"))

html_theme = "pydata_sphinx_theme"
html_title = f"neuroattn {release}"
html_theme_options = {
    "github_url": "",
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False
