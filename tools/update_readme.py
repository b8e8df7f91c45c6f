"""Regenerate the model table of README.md from the registry.

Usage: ``python tools/update_readme.py`` (tests/test_readme.py fails when it is stale).
"""

from __future__ import annotations

import re
from pathlib import Path

from neuroattn.models import model_table

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- models:start -->", "<!-- models:end -->"


def render(text: str) -> str:
    """Return ``text`` with the block between the markers replaced by the model table."""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the {START} ... {END} markers.")
    return pattern.sub(f"{START}\n{model_table('markdown')}\n{END}", text)


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README}")
