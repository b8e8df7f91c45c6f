"""Shared docstring text lives in one place: ``neuroattn._docs.docdict``.

Every public module, class, function and method of the package is read from source (so
``%(key)s`` placeholders are seen as written, not as filled in). A paragraph is

* a numpydoc entry with its description (Parameters, Other Parameters, Attributes,
  Returns, Yields), or
* any other blank-line-separated block of at least 2 lines or 120 characters.

A paragraph written out in two public docstrings, or a copy of a docdict entry written
out by hand, fails the test: put the text in the docdict and use ``%(key)s`` with
``@fill_doc``. Whitespace is normalised, so reflowing a copy does not hide it. The
check is split by subpackage, so a failure names the layer whose docstrings repeat.
See ``docs/design.md`` ("Docstrings").
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from neuroattn._docs import docdict

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neuroattn"

#: Sections whose entries (name : type, then an indented description) are paragraphs.
ENTRY_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Returns", "Yields"}
#: Sections left out: error conditions are one line each and rightly alike.
SKIPPED_SECTIONS = {"Raises", "Warns", "See Also", "References", "Examples"}

#: Paragraphs allowed in two docstrings: (object, object, start of the paragraph).
#: Keep it short, and say why each pair is better left as it is.
ALLOWED: set[tuple[str, str, str]] = set()


def _public_docstrings() -> dict[str, str]:
    """``{qualified name: raw docstring}`` of every public object, read with ``ast``."""
    docs: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        tree = ast.parse(path.read_text())
        if ast.get_docstring(tree, clean=False):
            docs[module] = ast.get_docstring(tree, clean=False)

        def visit(body, prefix):
            for node in body:
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                         ast.ClassDef)):
                    continue
                if node.name.startswith("_"):
                    continue
                name = f"{prefix}.{node.name}"
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    docs[name] = doc
                if isinstance(node, ast.ClassDef):
                    visit(node.body, name)

        visit(tree.body, module)
    return docs


def _normalise(text: str) -> str:
    return " ".join(text.split())


def paragraphs(doc: str) -> list[str]:
    """The paragraphs of a numpydoc docstring (see the module docstring), normalised."""
    lines = inspect.cleandoc(doc).splitlines()
    # The summary line of cleandoc'ed text is flush left; so is the rest.
    sections: list[tuple[str, list[str]]] = [("", [])]
    i = 0
    while i < len(lines):
        if (i + 1 < len(lines) and lines[i].strip() and set(lines[i + 1].strip()) == {"-"}
                and len(lines[i + 1].strip()) >= 3):
            sections.append((lines[i].strip(), []))
            i += 2
            continue
        sections[-1][1].append(lines[i])
        i += 1
    out: list[str] = []
    for title, body in sections:
        if title in SKIPPED_SECTIONS:
            continue
        if title in ENTRY_SECTIONS:
            entries: list[list[str]] = []
            for line in body:
                if line.strip() and not line.startswith((" ", "\t")):
                    entries.append([line])
                elif entries:
                    entries[-1].append(line)
            out += [_normalise("\n".join(e)) for e in entries
                    if len([x for x in e if x.strip()]) >= 2]
            continue
        for block in re.split(r"\n\s*\n", "\n".join(body)):
            text = block.strip()
            if not text or re.fullmatch(r"%\(\w+\)s", text):
                continue
            if len(text.splitlines()) >= 2 or len(text) >= 120:
                out.append(_normalise(text))
    return [p for p in out if not re.fullmatch(r"%\(\w+\)s", p)]


def _docdict_paragraphs() -> dict[str, str]:
    """``{paragraph: docdict key}`` of the entries each docdict value holds."""
    found = {}
    for key, value in docdict.items():
        # A value is written for a 4-space indented docstring: its first line is flush.
        entries = textwrap.dedent("    " + value)
        for para in paragraphs("Parameters\n----------\n" + entries):
            found[para] = key
        for para in paragraphs("Notes\n-----\n" + entries):
            found.setdefault(para, key)
    return found


def _duplicates() -> list[tuple[str, str, str]]:
    """``(object, object or 'docdict[key]', paragraph)`` of every repeated paragraph."""
    where: dict[str, list[str]] = defaultdict(list)
    for name, doc in _public_docstrings().items():
        for para in dict.fromkeys(paragraphs(doc)):
            where[para].append(name)
    from_docdict = _docdict_paragraphs()
    found = []
    for para, names in where.items():
        if para in from_docdict:
            found += [(n, f"docdict[{from_docdict[para]!r}]", para) for n in names]
        for a, b in zip(names, names[1:]):
            if not any(a == x and b == y and para.startswith(start)
                       for x, y, start in ALLOWED):
                found.append((a, b, para))
    return found


#: Subpackages and top-level modules (``preprocessing``, ``cli``...): one test each.
SUBPACKAGES = sorted(p.stem for p in PACKAGE.iterdir()
                     if (p.is_dir() and (p / "__init__.py").exists())
                     or (p.suffix == ".py" and p.stem != "__init__"))


@pytest.mark.parametrize("subpackage", [*SUBPACKAGES, "__init__"])
def test_no_docstring_paragraph_is_copied(subpackage):
    def inside(name):
        part = name.split(".")[1] if name.count(".") else "__init__"
        return part == subpackage

    dups = [d for d in _duplicates() if inside(d[0]) or inside(d[1])]
    assert not dups, "copied docstring paragraphs (use the docdict):\n" + "\n".join(
        f"  {a}  ==  {b}:  {p[:90]}" for a, b, p in dups)


def test_paragraph_rules():
    doc = '''Summary line.

    One long paragraph that spans
    two lines.

    Parameters
    ----------
    x : int
        The x.
    y : int
    %(ax)s

    Returns
    -------
    int
        The sum.

    Raises
    ------
    ValueError
        If x is bad.
    '''
    assert paragraphs(doc) == ["One long paragraph that spans two lines.",
                               "x : int The x.", "int The sum."]


def test_copies_are_found(monkeypatch, tmp_path):
    """Two functions with the same hand-written entry, and a hand copy of a docdict entry."""
    pkg = tmp_path / "neuroattn"
    pkg.mkdir()
    entry = next(iter(docdict.values()))
    (pkg / "__init__.py").write_text('"""Top."""\n')
    (pkg / "mod.py").write_text(
        '"""Mod."""\n\n\ndef f(x):\n    """F.\n\n    Parameters\n    ----------\n'
        '    x : float\n        Length of the window, in seconds.\n    """\n\n\n'
        'def g(x):\n    """G.\n\n    Parameters\n    ----------\n'
        '    x : float\n        Length of the window,\n        in seconds.\n    """\n\n\n'
        'def h(x):\n    """H.\n\n    Parameters\n    ----------\n    ' + entry + '\n    """\n')
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    pairs = {(a, b) for a, b, _ in _duplicates()}
    assert ("neuroattn.mod.f", "neuroattn.mod.g") in pairs
    assert any(a == "neuroattn.mod.h" and b.startswith("docdict[") for a, b in pairs)


def test_every_docdict_key_is_used():
    """A docdict entry no docstring uses is dead text (three were, before issue 10)."""
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    unused = [key for key in docdict if f"%({key})s" not in source]
    assert not unused, unused
