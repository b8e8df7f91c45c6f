"""Every tutorial runs offline end to end (about 100 s for all four on one core)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("plot_*.py"))


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(script, tmp_path):
    env = {**os.environ, "NEUROATTN_OUT": str(tmp_path), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=1800)
    assert list(tmp_path.rglob("*.png")), "the tutorial saved no figure"
