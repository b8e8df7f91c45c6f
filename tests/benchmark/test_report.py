"""save_results / save_figure: the one writer of evaluation files, atomic and backend-free."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from neuroattn.benchmark import save_figure, save_results


def _table():
    return pd.DataFrame({"fold": [0, 0, 1, 1], "method": ["a", "b", "a", "b"],
                         "score": [0.5, 0.6, np.nan, 0.8]})


def test_writes_csv_json_and_png(tmp_path):
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    paths = save_results(_table(), tmp_path / "new", "scores", plot=fig,
                         extra_json={"mean": np.float64(0.6), "n": np.int64(4),
                                     "ok": np.bool_(True), "v": np.arange(2)})
    assert set(paths) == {"csv", "json", "png"}
    assert pd.read_csv(paths["csv"]).shape == (4, 3)  # unnamed index not written
    text = paths["json"].read_text()
    assert json.loads(text) == {"mean": 0.6, "n": 4, "ok": True, "v": [0, 1]}
    assert '"n": 4,' in text  # an integer stays an integer (not 4.0)
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    named = _table().set_index("fold")
    text = save_results(named, tmp_path, "named", csv_kwargs={"na_rep": "nan"})["csv"]
    assert text.read_text().splitlines()[0] == "fold,method,score" and "nan" in text.read_text()


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    save_results(None, tmp_path, "run", extra_json={"version": 1})

    class Unserialisable:
        pass

    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_results(None, tmp_path, "run", extra_json={"version": Unserialisable()})
    assert json.loads((tmp_path / "run.json").read_text()) == {"version": 1}
    # A table with a bad record or a bad figure: neither file is replaced.
    save_results(_table(), tmp_path, "both", extra_json={"version": 1})
    before = (tmp_path / "both.csv").read_text()
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_results(_table().iloc[:1], tmp_path, "both",
                     extra_json={"version": Unserialisable()})
    with pytest.raises(ValueError, match="plot must be a matplotlib Figure"):
        save_results(_table().iloc[:1], tmp_path, "both", plot="notafig")
    assert (tmp_path / "both.csv").read_text() == before

    class Broken(Figure):
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    (tmp_path / "fig.png").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(Broken(), tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes() == b"old"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(table=None), "Nothing to save"),
    (dict(table=[1, 2]), "table must be a pandas DataFrame"),
    (dict(table=pd.DataFrame({"a": [1]}), stem="a/b"), "stem must be a bare file name"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    args = dict(out_dir=tmp_path, stem="x") | kwargs
    with pytest.raises(ValueError, match=match):
        save_results(**args)
    with pytest.raises(ValueError, match="suffix"):
        save_figure(Figure(), tmp_path / "nosuffix")
