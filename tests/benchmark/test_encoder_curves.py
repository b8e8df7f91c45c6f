"""The learning-curve helpers of ``benchmarks/bench_brain_encoder.py --curves``: mean
and sd over seeds, resuming from the JSON, merging a run made with another ``--out``."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def curves():
    sys.path.insert(0, str(BENCHMARKS))  # the module imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location("_encoder_curves_t",
                                                      BENCHMARKS / "_encoder_curves.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def _cell(r):
    return {"mean_r": r, "mean_r_normalized": r / 0.8, "fit_seconds": 1.0}


def test_summary_is_mean_and_sd_over_seeds(curves):
    runs = {"0": {"t": {"200": {"m": _cell(0.5)}}}, "1": {"t": {"200": {"m": _cell(0.7)}}},
            "2": {"t": {"200": {"m": _cell(0.6)}, "400": {"m": _cell(0.9)}}}}
    s = curves.summarize(runs)
    assert s["t"]["200"]["m"]["n_seeds"] == 3 and s["t"]["400"]["m"]["n_seeds"] == 1
    assert np.isclose(s["t"]["200"]["m"]["mean_r"], 0.6)
    assert np.isclose(s["t"]["200"]["m"]["sd_mean_r"], np.std([0.5, 0.7, 0.6], ddof=1))
    assert s["t"]["400"]["m"]["sd_mean_r"] == 0.0


def test_run_resumes_and_merges(curves, tmp_path, monkeypatch):
    calls = []

    def fake_fit_score(name, sim, train, test, seed, **kw):
        calls.append((name, train.size, seed))
        return _cell(0.1 * seed + train.size / 1000)

    monkeypatch.setattr(curves, "fit_score", fake_fit_score)
    monkeypatch.setattr(curves, "_sim", lambda t, n, n_test, nc, seed: (
        None, np.arange(n), np.arange(n, n + n_test)))
    out = tmp_path / "c.json"
    curves.run_curves(out, ["linear_local"], [20], 10, 0.8, [0, 1], methods=("a", "b"),
                      command="first")
    assert len(calls) == 4
    curves.run_curves(out, ["linear_local"], [20], 10, 0.8, [0, 1, 2], methods=("a", "b"),
                      command="second")
    assert len(calls) == 6 and {c[2] for c in calls[4:]} == {2}  # only the new seed
    other = tmp_path / "c_big.json"
    curves.run_curves(other, ["linear_local"], [50], 10, 0.8, [0], methods=("a",),
                      command="big")
    merged = curves.merge_runs(out, other)
    assert merged["curves"]["linear_local"]["50"]["a"]["n_seeds"] == 1
    assert merged["curves"]["linear_local"]["20"]["b"]["n_seeds"] == 3
    saved = json.loads(out.read_text())
    assert saved["commands"][:3] == ["first", "second", "big"]
    assert saved["config"]["seeds"] == {"20": [0, 1, 2], "50": [0]}
