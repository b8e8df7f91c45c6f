"""ROI time series loaders, windowing and the fMRI simulator."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroattn.data.fmri import (
    ABIDE_SITE_TR,
    RoiTimeSeries,
    fetch_abide_rois,
    load_roi_timeseries,
    resample_series,
    roi_timeseries_from_arrays,
    segment_series,
    zscore_regions,
)
from neuroattn.data.simulate import simulate_fmri_rois


def _series(n_subjects=4, n_t=60, n_r=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n_t + 3 * i, n_r)) * 3 + 10 for i in range(n_subjects)]


# ------------------------------------------------------------------ arrays
def test_from_arrays_metadata_and_zscore():
    data = roi_timeseries_from_arrays(_series(), t_r=2.0, labels=[0, 1, 0, 1], sites="A",
                                      ages=[20, 21, 22, 23])
    assert len(data) == 4 and data.n_regions == 5
    assert list(data.meta.columns) == ["subject", "site", "label", "age", "sex", "tr"]
    np.testing.assert_array_equal(data.labels, [0, 1, 0, 1])
    assert set(data.sites) == {"A"} and np.allclose(data.t_r, 2.0)
    for ts in data.series:
        np.testing.assert_allclose(ts.mean(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(ts.std(axis=0), 1, atol=1e-10)
    sub = data.subset([3, 1])
    assert list(sub.labels) == [1, 1] and sub.series[0].shape == data.series[3].shape


def test_zero_roi_is_reported_not_nan():
    series = _series()
    series[1][:, 2] = 0.0
    with pytest.warns(UserWarning, match="constant"):
        data = roi_timeseries_from_arrays(series, t_r=2.0)
    assert data.report["flat_rois"] == {1: [2]}
    assert np.isfinite(data.series[1]).all() and (data.series[1][:, 2] == 0).all()
    z, flat = zscore_regions(series[1])
    assert flat.tolist() == [2] and np.isfinite(z).all()
    dropped = roi_timeseries_from_arrays(series, t_r=2.0, flat_rois="drop_subject")
    assert len(dropped) == 3 and dropped.report["skipped"][0][0] == "sub-001"
    with pytest.raises(ValueError, match="constant ROIs"):
        roi_timeseries_from_arrays(series, t_r=2.0, flat_rois="error")


@pytest.mark.parametrize("bad, match", [
    ("regions", "different numbers of regions"), ("nan", "NaN"), ("ndim", "2-D"),
    ("tr", "t_r must be"), ("labels", "label has 3 entries")])
def test_from_arrays_bad_input(bad, match):
    series, kwargs = _series(), {"t_r": 2.0}
    if bad == "regions":
        series[2] = series[2][:, :4]
    elif bad == "nan":
        series[0][5, 1] = np.nan
    elif bad == "ndim":
        series[0] = series[0][:, 0]
    elif bad == "tr":
        kwargs["t_r"] = -1.0
    else:
        kwargs["labels"] = [0, 1, 0]
    with pytest.raises(ValueError, match=match):
        roi_timeseries_from_arrays(series, **kwargs)


# --------------------------------------------------------------- windowing
def test_segment_series_is_tr_aware():
    data = roi_timeseries_from_arrays(_series(n_subjects=2, n_t=40), t_r=2.0)
    seg = segment_series(data, segment_seconds=16.0)
    assert seg.X.shape[1:] == (5, 8) and seg.X.dtype == np.float32 and seg.t_r == 2.0
    assert np.bincount(seg.groups).tolist() == [40 // 8, 43 // 8]
    np.testing.assert_allclose(seg.X[0], data.series[0][:8].T, rtol=1e-6)
    overlap = segment_series(data, segment_seconds=16.0, step_seconds=8.0)
    assert len(overlap.X) > len(seg.X)


def test_segment_series_mixed_tr_needs_target():
    series = _series(n_subjects=2, n_t=60)
    with pytest.raises(ValueError, match="different repetition times"):
        segment_series(series, t_r=[2.0, 3.0], segment_seconds=12.0)
    seg = segment_series(series, t_r=[2.0, 3.0], segment_seconds=12.0, target_t_r=1.5)
    assert seg.X.shape[2] == 8 and seg.t_r == 1.5
    # the 3 s subject lasts longer, so it yields more 12 s windows
    counts = np.bincount(seg.groups)
    assert counts[1] > counts[0]


def test_short_series_skipped_with_warning_or_error():
    series = _series(n_subjects=3, n_t=30)
    series[1] = series[1][:5]
    with pytest.warns(UserWarning, match="shorter than one"):
        seg = segment_series(series, t_r=2.0, segment_seconds=20.0)
    assert seg.skipped == [1] and 1 not in seg.groups
    with pytest.raises(ValueError, match="shorter than one"):
        segment_series([series[1]], t_r=2.0, segment_seconds=20.0)
    with pytest.raises(ValueError, match="at least 2"):
        segment_series(series, t_r=2.0, segment_seconds=2.0)


def test_resample_series_keeps_duration_and_signal():
    t = np.arange(50) * 2.0
    ts = np.column_stack([np.sin(2 * np.pi * t / 40), np.cos(2 * np.pi * t / 40)])
    out = resample_series(ts, 2.0, 1.0)
    assert out.shape == (99, 2)
    np.testing.assert_allclose(out[::2], ts, atol=1e-12)
    with pytest.raises(ValueError, match="positive"):
        resample_series(ts, 0.0, 1.0)


# ---------------------------------------------------------------- maskers
def _toy_images(n_t=40, seed=0):
    """A 3-region labels atlas and one 4-D image whose regions carry known signals."""
    rng = np.random.default_rng(seed)
    atlas = np.zeros((6, 6, 6), dtype=np.int16)
    atlas[:3, :3, :] = 1
    atlas[3:, :3, :] = 2
    atlas[:, 3:, :] = 3
    signals = rng.normal(size=(3, n_t))
    data = np.stack([signals[atlas.ravel() - 1].reshape(6, 6, 6, n_t)])[0]
    data = data + 0.01 * rng.normal(size=data.shape) + 100
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-9.0, -9.0, -9.0]  # centred on the origin, both hemispheres
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_zooms((3.0, 3.0, 3.0, 2.5))
    return img, nib.Nifti1Image(atlas, affine), signals


def test_labels_masker_recovers_region_signals():
    img, atlas, signals = _toy_images()
    data = load_roi_timeseries([img, img], atlas, labels=[0, 1], detrend=False)
    assert len(data) == 2 and data.n_regions == 3
    assert np.allclose(data.t_r, 2.5)  # read from the header
    for r in range(3):
        assert np.corrcoef(data.series[0][:, r], signals[r])[0, 1] > 0.99
    assert data.region_coords is not None and data.region_coords.shape == (3, 3)


def test_confounds_are_regressed_out():
    img, atlas, signals = _toy_images()
    confound = signals[0][:, None]
    data = load_roi_timeseries([img], atlas, confounds=[confound], detrend=False)
    assert abs(np.corrcoef(data.series[0][:, 0], signals[0])[0, 1]) < 0.2


def test_maps_masker():
    img, atlas, signals = _toy_images()
    labels = np.asarray(atlas.dataobj)
    maps = np.stack([(labels == k).astype(np.float32) for k in (1, 2, 3)], axis=-1)
    data = load_roi_timeseries([img], nib.Nifti1Image(maps, atlas.affine), detrend=False)
    assert data.n_regions == 3
    assert np.corrcoef(data.series[0][:, 2], signals[2])[0, 1] > 0.99


def test_atlas_in_another_space_is_an_error():
    img, atlas, _ = _toy_images()
    far = atlas.affine.copy()
    far[:3, 3] = [200.0, 200.0, 200.0]  # same grid, 200 mm away: no overlap
    with pytest.raises(ValueError, match="different spaces"):
        load_roi_timeseries([img], nib.Nifti1Image(np.asarray(atlas.dataobj), far))
    with pytest.raises(ValueError, match="4-D"):
        load_roi_timeseries([atlas], atlas)


# --------------------------------------------------------------- simulator
def test_simulator_plants_networks_and_group_coupling():
    data = simulate_fmri_rois(40, n_regions=12, n_networks=3, n_timepoints=200,
                              random_state=0)
    assert isinstance(data, RoiTimeSeries) and len(data) == 40 and data.n_regions == 12
    assert data.region_coords.shape == (12, 3)
    net = data.truth["networks"]
    a, b = data.truth["coupled_networks"]
    corr = np.stack([np.corrcoef(ts.T) for ts in data.series])
    same = (net[:, None] == net[None]) & ~np.eye(12, dtype=bool)
    other = net[:, None] != net[None]
    assert corr[:, same].mean() > corr[:, other].mean() + 0.3
    pair = (net[:, None] == a) & (net[None] == b)
    coupling = corr[:, pair].mean(axis=1)
    labels = data.labels
    assert coupling[labels == 1].mean() > coupling[labels == 0].mean() + 0.2
    for site in set(data.sites):  # both groups in every site
        assert set(labels[data.sites == site]) == {0, 1}
    with pytest.raises(ValueError, match="regions per network"):
        simulate_fmri_rois(10, n_regions=3, n_networks=2)


# -------------------------------------------------------------- real data
@pytest.mark.realdata
def test_fetch_abide_two_sites(shared_data):
    with pytest.warns(UserWarning, match="constant"):
        data = fetch_abide_rois(shared_data / "nilearn_data", sites=["CALTECH", "OHSU"])
    assert len(data) == 37 + 26 and data.n_regions == 200
    assert set(data.sites) == {"CALTECH", "OHSU"}
    assert set(np.unique(data.labels)) == {0, 1}
    np.testing.assert_allclose(data.t_r, [ABIDE_SITE_TR[s] for s in data.sites])
    assert all(np.isfinite(ts).all() for ts in data.series)
    for i, rois in data.report["flat_rois"].items():
        assert (data.series[i][:, rois] == 0).all()
    seg = segment_series(data, segment_seconds=16.0, target_t_r=2.0)
    assert seg.X.shape[1:] == (200, 8) and not seg.skipped
    with pytest.raises(ValueError, match="Unknown ABIDE sites"):
        fetch_abide_rois(shared_data / "nilearn_data", sites=["MARS"])


def test_masker_warnings_reach_the_caller(monkeypatch):
    from nilearn.maskers import NiftiLabelsMasker

    fit_transform = NiftiLabelsMasker.fit_transform

    def warn_then_fit(self, *args, **kwargs):
        warnings.warn("a masker parameter is deprecated", FutureWarning, stacklevel=2)
        return fit_transform(self, *args, **kwargs)

    monkeypatch.setattr(NiftiLabelsMasker, "fit_transform", warn_then_fit)
    img, atlas, _ = _toy_images()
    with pytest.warns(FutureWarning, match="a masker parameter is deprecated"):
        load_roi_timeseries([img], atlas, detrend=False)


def test_abide_fetcher_warnings_reach_the_caller(monkeypatch, tmp_path):
    import nilearn.datasets
    from sklearn.utils import Bunch

    def fake_fetch(**kwargs):
        warnings.warn("phenotypic column renamed", UserWarning, stacklevel=2)
        pheno = pd.DataFrame({"SITE_ID": ["NYU", "KKI"], "DX_GROUP": [1, 2],
                              "SUB_ID": [1, 2], "AGE_AT_SCAN": [10.0, 12.0], "SEX": [1, 2]})
        rng = np.random.default_rng(0)
        return Bunch(rois_cc200=[rng.normal(size=(50, 4)) for _ in range(2)], phenotypic=pheno)

    monkeypatch.setattr(nilearn.datasets, "fetch_abide_pcp", fake_fetch)
    (tmp_path / "ABIDE_pcp").mkdir()
    with pytest.warns(UserWarning, match="phenotypic column renamed"):
        data = fetch_abide_rois(tmp_path, sites=["NYU", "KKI"])
    assert list(data.sites) == ["NYU", "KKI"] and data.labels.tolist() == [1, 0]
