"""README.md stays true: its model table comes from the registry, its commands exist."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    path = ROOT / "tools" / "update_readme.py"
    spec = importlib.util.spec_from_file_location("update_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_table_is_current():
    text = (ROOT / "README.md").read_text()
    assert _load_tool().render(text) == text, "run `python tools/update_readme.py`"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command -->\s*```bash\n(.+?)\n```", readme, re.S)
    assert match, "README lacks the marked test command"
    assert match.group(1).strip() in (ROOT / ".ci" / "run").read_text()


def test_render_needs_markers():
    with pytest.raises(ValueError, match="markers"):
        _load_tool().render("no table here")


def test_python_snippets_run(tmp_path, monkeypatch):
    """The README's Python blocks run as written, in order, in one namespace."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)
    assert (tmp_path / "mi_model.safetensors").exists()


def _cli_examples(text: str) -> list[str]:
    """``neuroattn ...`` command lines of code blocks and inline code (continuations joined)."""
    text = re.sub(r"\\{1,2}\n\s*", " ", text)  # shell line continuations
    found = re.findall(r"(?:^\s*|&&\s*|`)(neuroattn [a-z]+(?: [^`\n]*)?)", text, re.M)
    return [cmd.strip() for cmd in found if "..." not in cmd and "|" not in cmd]


def test_cli_examples_parse():
    """Every ``neuroattn ...`` example in the README and the tutorials uses real flags."""
    import shlex

    from neuroattn.cli import build_parser

    sources = [ROOT / "README.md", *sorted((ROOT / "tutorials").glob("*.py"))]
    examples = [(src.name, cmd) for src in sources for cmd in _cli_examples(src.read_text())]
    assert any("seizure train" in cmd for _, cmd in examples)
    parser = build_parser()
    bad = []
    for where, cmd in examples:
        words = shlex.split(cmd)
        # Lines of the command table are "neuroattn name   description"; keep the name.
        if len(words) > 2 and not words[2].startswith("-") and words[1] in (
                "models", "demo", "benchmark", "fmri", "encoding"):
            words = words[:2]
        try:
            parser.parse_args(words[1:])
        except SystemExit:
            bad.append(f"{where}: {cmd}")
    assert not bad, bad
