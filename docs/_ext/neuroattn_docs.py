"""Local Sphinx extension: the API pages and the dataset-card table, made at build time.

* ``builder-inited``: writes one page a public module of ``neuroattn`` into ``api/``
  (``api/index.rst`` plus ``api/<module>.rst``), so a new module or a new name in an
  ``__all__`` is documented without editing ``docs/``. Each public object is documented
  once, on its *home* page: the most specific public module that exports it (for
  ``NeuroClassifier``, ``neuroattn.estimators.neural``); the other modules exporting it
  list it with a link there.
* the ``neuroattn-dataset-cards`` directive renders the shipped data cards
  (:func:`neuroattn.datasets.list_datasets`, :func:`neuroattn.datasets.dataset_card`) as
  a table followed by one section a card. Nothing is copied by hand.

A module that fails to import is reported as a warning starting with
``neuroattn-api: failed to import`` (``tests/test_docs.py`` fails on it).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

#: Layers above the library (the console script and its subcommands) have no API page.
SKIPPED = ("neuroattn.cli", "neuroattn.commands")
API_DIR = "api"


def public_modules(package: str = "neuroattn") -> list[str]:
    """Names of the public modules of ``package``, parents before children.

    A module is public when no part of its dotted name starts with ``_``; the command
    line layers (:data:`SKIPPED`) are left out.
    """
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}.", onerror=_walk_error):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        if any(info.name == s or info.name.startswith(s + ".") for s in SKIPPED):
            continue
        names.append(info.name)
    return names


def _walk_error(name: str) -> None:
    logger.warning("neuroattn-api: failed to import %s while listing modules", name)


def _exported(module) -> list[str]:
    """The module's public names: its ``__all__``, else what it defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    own = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if getattr(value, "__module__", None) == module.__name__:
            own.append(name)
    return own


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def _home(name: str, obj, exporters: list[str]) -> str:
    """The page an object is documented on (see the module docstring)."""
    defined_in = getattr(obj, "__module__", None) if _kind(obj) != "data" else None
    if isinstance(defined_in, str):
        inside = [m for m in exporters if defined_in == m or defined_in.startswith(m + ".")]
        if inside:
            return max(inside, key=len)
    return max(exporters, key=len)


def collect(modules: list[str]):
    """Import ``modules``; return ``(loaded, items)``.

    ``loaded`` maps a module name to ``[(name, obj), ...]`` in ``__all__`` order;
    ``items`` maps ``(name, id(obj))`` to ``(obj, [exporting modules])``.
    """
    loaded, items = {}, {}
    for modname in modules:
        try:
            module = importlib.import_module(modname)
        except Exception as exc:  # noqa: BLE001 - reported, the build carries on
            logger.warning("neuroattn-api: failed to import %s: %s: %s", modname,
                           type(exc).__name__, exc)
            continue
        pairs = []
        for name in _exported(module):
            try:
                obj = getattr(module, name)
            except Exception as exc:  # noqa: BLE001
                logger.warning("neuroattn-api: failed to import %s.%s: %s: %s", modname,
                               name, type(exc).__name__, exc)
                continue
            pairs.append((name, obj))
            items.setdefault((name, id(obj)), (obj, []))[1].append(modname)
        loaded[modname] = pairs
    return loaded, items


def _summary(obj) -> str:
    """`` -- `` and the first line of the object's own docstring (none for data)."""
    if _kind(obj) == "data":
        return ""
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0]
    first = " ".join(first.split())
    return f" -- {first}" if first else ""


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_<method>_request`` methods."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def _title(text: str, char: str = "=") -> list[str]:
    return [text, char * len(text), ""]


def module_page(modname: str, pairs, items, modules: list[str]) -> str:
    """The reST source of one module's page."""
    lines = _title(modname)
    lines += [f".. automodule:: {modname}", "   :no-members:", "",
              f".. currentmodule:: {modname}", ""]
    children = [m for m in modules
                if m.startswith(modname + ".") and "." not in m[len(modname) + 1:]]
    if children:
        lines += _title("Submodules", "-")
        lines += [f"- :mod:`{child}`" for child in children] + [""]
    here, elsewhere = [], []
    for name, obj in pairs:
        home = _home(name, obj, items[(name, id(obj))][1])
        (here if home == modname else elsewhere).append((name, obj, home))
    if here:
        lines += _title("Summary", "-")
        lines += [".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name, _, _ in here] + [""]
    if elsewhere:
        lines += _title("Also exported here", "-")
        lines += ["Documented on the page of the module that defines them:", ""]
        lines += [f"- :py:obj:`{name} <{home}.{name}>`{_summary(obj)}"
                  for name, obj, home in elsewhere] + [""]
    if here:
        lines += _title("Reference", "-")
    for name, obj, _ in here:
        kind = _kind(obj)
        lines.append(f".. auto{kind}:: {name}")
        if kind in ("class", "exception"):
            lines += ["   :members:", "   :show-inheritance:"]
        lines.append("")
    return "\n".join(lines)


def index_page(modules: list[str]) -> str:
    lines = _title("API reference")
    lines += ["One page a public module, made from the docstrings (numpydoc) at build time.",
              "Each object is documented on the page of the most specific public module",
              "that exports it; shorter import paths (``from neuroattn.estimators import",
              "NeuroClassifier``) work too.", "",
              ".. toctree::", "   :maxdepth: 1", ""]
    lines += [f"   {m}" for m in modules] + [""]
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def write_api_pages(app) -> None:
    """``builder-inited`` hook: (re)write ``api/`` in the source folder."""
    out = Path(app.srcdir) / API_DIR
    modules = public_modules()
    loaded, items = collect(modules)
    out.mkdir(exist_ok=True)
    wanted = {"index.rst"} | {f"{m}.rst" for m in loaded}
    for stale in out.iterdir():
        if stale.name not in wanted:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    _write_if_changed(out / "index.rst", index_page(list(loaded)))
    for modname, pairs in loaded.items():
        _write_if_changed(out / f"{modname}.rst",
                          module_page(modname, pairs, items, list(loaded)))


# --- the dataset cards ------------------------------------------------------------------

_RST_SPECIAL = re.compile(r"([\\`*_|<>\[\]])")


def rst_text(value) -> str:
    """Plain text with reST markup characters escaped (one line)."""
    text = " ".join(str(value).split())
    return _RST_SPECIAL.sub(r"\\\1", text)


def _tutorial_cell(text: str, gallery_pages: set[str]) -> str:
    """The card's ``tutorial`` field, linking the gallery page it names when there is one."""
    match = re.match(r"tutorials/(plot_\w+)\.py(.*)$", text.strip(), re.S)
    if match and match.group(1) in gallery_pages:
        label = f"sphx_glr_auto_tutorials_{match.group(1)}.py"
        rest = rst_text(match.group(2))
        return f":ref:`{match.group(1)} <{label}>`" + (f" {rest}" if rest else "")
    return rst_text(text)


def _subjects(card) -> str:
    return f"{card.subjects['count']} {card.subjects['unit']}s"


def _fetch(card) -> str:
    fetch = card.fetch
    detail = {"moabb": "class", "nilearn": "function", "physionet": "project",
              "manual": "url"}.get(fetch["method"])
    return f"{fetch['method']}: {fetch[detail]}" if detail in fetch else fetch["method"]


def _row(cells) -> list[str]:
    """One ``list-table`` row, a line a cell."""
    return [("   * - " if i == 0 else "     - ") + cell for i, cell in enumerate(cells)]


def cards_rst(cards, gallery_pages: set[str]) -> list[str]:
    """The table of every card, then a section a card (citation, access, layout, quirks)."""
    header = ("name", "title", "tracks", "modality", "subjects", "sampling rate",
              "access", "licence", "fetched by")
    lines = [".. list-table:: Every shipped data card", "   :header-rows: 1",
             "   :class: datasets-table", ""]
    lines += _row(header)
    for card in cards:
        row = (f":ref:`{card.name} <dataset-{card.name}>`", rst_text(card.title),
               rst_text(", ".join(card.tracks)), rst_text(card.modality),
               rst_text(_subjects(card)), rst_text(card.sampling_rate),
               rst_text(card.access), rst_text(card.licence), rst_text(_fetch(card)))
        lines += _row(row)
    lines.append("")
    for card in cards:
        lines += [f".. _dataset-{card.name}:", ""] + _title(card.name, "-")
        fields = [
            ("title", rst_text(card.title)),
            ("aliases", rst_text(", ".join(card.aliases)) if card.aliases else "none"),
            ("tracks", rst_text(", ".join(card.tracks))),
            ("modality", rst_text(card.modality)),
            ("task", rst_text(card.task)),
            ("subjects", rst_text(_subjects(card))),
            ("channels", rst_text(card.channels)),
            ("sampling rate", rst_text(card.sampling_rate)),
            ("size on disk", rst_text(card.size_on_disk)),
            ("licence", rst_text(card.licence)),
            ("access", f"{rst_text(card.access)}: {rst_text(card.access_terms)}"),
            ("citation", rst_text(card.citation)),
            ("DOI", f"`{rst_text(card.doi)} <https://doi.org/{card.doi.strip()}>`__"),
            ("fetched by", rst_text(_fetch(card))),
            ("cache layout", f"``{' '.join(card.cache_layout.split())}``"),
            ("tutorial", _tutorial_cell(card.tutorial, gallery_pages)),
        ]
        lines += [f":{name}: {value}" for name, value in fields] + [""]
        if card.quirks:
            lines += ["Known quirks:", ""]
            lines += [f"- {rst_text(q)}" for q in card.quirks] + [""]
    return lines


class DatasetCardsDirective(SphinxDirective):
    """``.. neuroattn-dataset-cards::``: every shipped card, read when the page is built."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from neuroattn.datasets import dataset_card, list_datasets

        cards = [dataset_card(name) for name in list_datasets()]
        for card in cards:
            if card.path is not None:
                self.env.note_dependency(str(card.path))
        gallery = Path(self.env.srcdir) / "auto_tutorials"
        pages = {p.stem for p in gallery.glob("plot_*.rst")}
        holder = nodes.section()
        nested_parse_with_titles(self.state, StringList(cards_rst(cards, pages),
                                                        "<dataset cards>"), holder)
        return holder.children


def setup(app):
    app.connect("builder-inited", write_api_pages)
    app.connect("autodoc-skip-member", _skip_member)
    app.add_directive("neuroattn-dataset-cards", DatasetCardsDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
