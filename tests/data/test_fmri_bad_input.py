"""Bad inputs to the fMRI loaders: each is refused with a message naming the parameter or
file (and line), or reported per subject; none is silently accepted."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroattn.data.fmri import (
    RoiTimeSeries,
    fetch_abide_rois,
    load_roi_1d,
    load_roi_timeseries,
    read_roi_1d,
    resample_series,
    roi_timeseries_from_arrays,
    segment_series,
)


def _series(n_subjects=3, n_t=40, n_r=4, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n_t, n_r)) for _ in range(n_subjects)]


def _meta(n, tr):
    return pd.DataFrame({"subject": [f"s{i}" for i in range(n)], "site": "A", "label": 0,
                         "age": np.nan, "sex": None, "tr": tr})


def _image(t_r=2.0):
    atlas = np.zeros((4, 4, 4), dtype=np.int16)
    atlas[:2] = 1
    atlas[2:] = 2
    rng = np.random.default_rng(0)
    img = nib.Nifti1Image(rng.normal(size=(4, 4, 4, 20)).astype(np.float32) + 10, np.eye(4))
    img.header.set_zooms((1.0, 1.0, 1.0, t_r))
    return img, nib.Nifti1Image(atlas, np.eye(4))


def _write_1d(path, rows, header=True, n_regions=None):
    n_regions = n_regions or len(rows[0])
    lines = ["\t".join(f"#{i + 1}" for i in range(n_regions))] if header else []
    lines += ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _good_1d(folder, names=("a", "b", "c"), n_t=30, n_r=4):
    rng = np.random.default_rng(1)
    return [_write_1d(folder / f"{n}.1D", np.round(rng.normal(size=(n_t, n_r)), 5))
            for n in names]


# ------------------------------------------------------------------------------- t_r
BAD_T_R = [pytest.param(np.inf, id="inf"), pytest.param("2", id="string"),
           pytest.param(0.0, id="zero"), pytest.param(-2.0, id="negative"),
           pytest.param(np.nan, id="nan"), pytest.param(True, id="bool"),
           pytest.param(None, id="none")]
T_R_MESSAGE = r"t_r.*finite positive number of seconds"


@pytest.mark.parametrize("t_r", BAD_T_R + [pytest.param([2.0, 2.0], id="wrong-length")])
def test_roi_timeseries_from_arrays_refuses_t_r(t_r):
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        roi_timeseries_from_arrays(_series(), t_r=t_r)


@pytest.mark.parametrize("t_r", [np.inf, "2", 0.0, -1.0, np.nan, None])
def test_roi_timeseries_container_refuses_t_r(t_r):
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        RoiTimeSeries(_series(), _meta(3, t_r))


@pytest.mark.parametrize("t_r", BAD_T_R)
def test_resample_refuses_t_r(t_r):
    data = roi_timeseries_from_arrays(_series(), t_r=2.0)
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        data.resample(t_r)
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        resample_series(data.series[0], t_r, 1.0)
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        resample_series(data.series[0], 2.0, t_r)


@pytest.mark.parametrize("t_r", BAD_T_R[:-1] + [pytest.param([2.0, 2.0], id="wrong-length")])
def test_segment_series_refuses_t_r(t_r):
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        segment_series(_series(), t_r=t_r, segment_seconds=8.0)


@pytest.mark.parametrize("t_r", BAD_T_R[:-1])
def test_load_roi_timeseries_refuses_t_r(t_r):
    img, atlas = _image()
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        load_roi_timeseries([img], atlas, t_r=t_r)


@pytest.mark.parametrize("header_t_r", [np.inf, np.nan, 0.0])
def test_load_roi_timeseries_refuses_header_t_r(header_t_r):
    img, atlas = _image(header_t_r)
    with pytest.raises(ValueError, match=r"imgs\[0\].*repetition time"):
        load_roi_timeseries([img], atlas)


@pytest.mark.parametrize("t_r", BAD_T_R[:-1] + [pytest.param([2.0], id="wrong-length")])
def test_load_roi_1d_refuses_t_r(t_r, tmp_path):
    with pytest.raises(ValueError, match=T_R_MESSAGE):
        load_roi_1d(_good_1d(tmp_path), t_r=t_r)


@pytest.mark.parametrize("kwargs, match", [
    ({"segment_seconds": np.nan}, "segment_seconds"),
    ({"segment_seconds": np.inf}, "segment_seconds"),
    ({"segment_seconds": "16"}, "segment_seconds"),
    ({"step_seconds": 0.0}, "step_seconds"),
    ({"step_seconds": -4.0}, "step_seconds"),
    ({"target_t_r": np.inf}, "target_t_r"),
])
def test_segment_series_refuses_bad_seconds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        segment_series(_series(), t_r=2.0, **{"segment_seconds": 8.0, **kwargs})


# ----------------------------------------------------------------------- .1D files
def _bad_1d(kind, path):
    rng = np.random.default_rng(2)
    rows = np.round(rng.normal(size=(30, 4)), 5).tolist()
    if kind == "truncated":  # a copy cut mid-row
        text = _write_1d(path, rows).read_text()
        path.write_text(text[: text.rstrip("\n").rfind("\t") - 3])
        return "line 31"
    if kind == "empty":
        path.write_text("")
        return "no data"
    if kind == "header-only":
        _write_1d(path, rows[:0], n_regions=4)
        return "no data"
    if kind == "non-numeric":
        rows[6][2] = "abc"
        _write_1d(path, rows)
        return "line 8.*'abc'"
    if kind == "nan":
        rows[9][1] = "nan"
        _write_1d(path, rows)
        return "line 11.*NaN"
    if kind == "header-mismatch":
        _write_1d(path, rows, n_regions=5)
        return "header names 5 regions"
    if kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
        return "not a text"
    if kind == "other-atlas":
        _write_1d(path, np.round(rng.normal(size=(30, 6)), 5))
        return "6 regions.*4"
    raise AssertionError(kind)


ONE_D_KINDS = ["truncated", "empty", "header-only", "non-numeric", "nan", "header-mismatch",
               "binary"]


@pytest.mark.parametrize("kind", ONE_D_KINDS)
def test_read_roi_1d_names_the_file(kind, tmp_path):
    path = tmp_path / "sub-01_rois_cc200.1D"
    match = _bad_1d(kind, path)
    with pytest.raises(ValueError, match=rf"sub-01_rois_cc200\.1D.*{match}"):
        read_roi_1d(path)


@pytest.mark.parametrize("kind", ONE_D_KINDS + ["other-atlas"])
def test_load_roi_1d_names_the_bad_file(kind, tmp_path):
    paths = _good_1d(tmp_path)
    match = _bad_1d(kind, paths[1])
    with pytest.raises(ValueError, match=rf"b\.1D.*{match}"):
        load_roi_1d(paths, t_r=2.0)


def test_read_roi_1d_reads_abide_layout(tmp_path):
    rows = np.round(np.random.default_rng(3).normal(size=(12, 5)), 6)
    series, names = read_roi_1d(_write_1d(tmp_path / "x.1D", rows))
    np.testing.assert_allclose(series, rows)
    assert names == ["1", "2", "3", "4", "5"]
    data = load_roi_1d([tmp_path / "x.1D"], t_r=2.5, standardize=False)
    assert data.meta["subject"].tolist() == ["x"] and data.region_names == names
    with pytest.raises(FileNotFoundError, match="missing.1D"):
        read_roi_1d(tmp_path / "missing.1D")


def _fake_abide(root, kinds):
    """nilearn's ABIDE_pcp layout with a synthetic phenotype and one file per subject;
    returns the FILE_ID of the first bad file."""
    base = root / "ABIDE_pcp"
    folder = base / "cpac" / "filt_global"
    folder.mkdir(parents=True)
    rows, bad = [], None
    for i, kind in enumerate(kinds):
        file_id = f"NYU_00{51000 + i}"
        rows.append({"SUB_ID": 51000 + i, "FILE_ID": file_id, "SITE_ID": "NYU",
                     "DX_GROUP": 1 + i % 2, "AGE_AT_SCAN": 10.0 + i, "SEX": 1})
        path = folder / f"{file_id}_rois_cc200.1D"
        if kind == "good":
            _good_1d(folder, names=["tmp"])[0].rename(path)
        else:
            _bad_1d(kind, path)
            bad = bad or file_id
    # nilearn reads the first column as an index (the real file starts with one)
    pd.DataFrame(rows).to_csv(base / "Phenotypic_V1_0b_preprocessed1.csv")
    return bad


def test_fake_abide_layout_loads(tmp_path):
    _fake_abide(tmp_path, ["good"] * 3)
    data = fetch_abide_rois(tmp_path, sites=["NYU"])
    assert len(data) == 3 and data.n_regions == 4 and data.labels.tolist() == [1, 0, 1]


@pytest.mark.parametrize("kind", ONE_D_KINDS + ["other-atlas"])
def test_fetch_abide_rois_names_the_bad_file(kind, tmp_path):
    bad = _fake_abide(tmp_path, ["good", kind, "good"])
    match = _bad_1d(kind, tmp_path / "scratch.1D")
    with pytest.raises(ValueError, match=rf"{bad}_rois_cc200\.1D.*{match}"):
        fetch_abide_rois(tmp_path, sites=["NYU"])


# ------------------------------------------------------------- other silent cases
def test_nan_series_names_the_subject():
    series = _series()
    series[2][3, 1] = np.inf
    with pytest.raises(ValueError, match=r"series\[2\] \(subject 'c'\).*NaN or inf"):
        roi_timeseries_from_arrays(series, t_r=2.0, subjects=["a", "b", "c"])
    meta = _meta(3, 2.0)
    with pytest.raises(ValueError, match=r"subject 's2'.*NaN or inf"):
        RoiTimeSeries(series, meta)


@pytest.mark.parametrize("column, value", [("sites", ["A", "B"]), ("labels", [0, 1]),
                                           ("subjects", ["a"]), ("ages", [1, 2, 3, 4])])
def test_metadata_of_the_wrong_length(column, value):
    with pytest.raises(ValueError, match="entries but there are 3 subjects"):
        roi_timeseries_from_arrays(_series(), t_r=2.0, **{column: value})


def test_duplicate_subject_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"subject ids.*'a'.*twice|duplicate.*'a'"):
        roi_timeseries_from_arrays(_series(), t_r=2.0, subjects=["a", "b", "a"])
    meta = _meta(3, 2.0)
    meta["subject"] = ["x", "x", "y"]
    with pytest.raises(ValueError, match="duplicate.*'x'"):
        RoiTimeSeries(_series(), meta)


def test_container_checks_region_counts_and_meta():
    series = _series()
    series[1] = series[1][:, :3]
    with pytest.raises(ValueError, match="different numbers of regions"):
        RoiTimeSeries(series, _meta(3, 2.0))
    with pytest.raises(ValueError, match="'tr' column"):
        RoiTimeSeries(_series(), _meta(3, 2.0).drop(columns="tr"))


def test_short_subject_is_reported_by_its_id():
    series = _series()
    series[1] = series[1][:3]
    data = roi_timeseries_from_arrays(series, t_r=2.0, subjects=["a", "short-one", "c"])
    with pytest.warns(UserWarning, match="'short-one'.*shorter than one"):
        seg = segment_series(data, segment_seconds=16.0)
    assert seg.skipped == [1]
