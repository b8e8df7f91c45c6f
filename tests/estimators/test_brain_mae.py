"""BrainMAEPretrainer: label-free pretraining, embeddings, linear probe, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data

from neuroattn.data.fmri import Segments
from neuroattn.data.simulate import simulate_fmri_rois
from neuroattn.estimators import BrainMAEPretrainer, NeuroClassifier

FAST = dict(max_epochs=2, batch_size=32, random_state=0, model__embed_dim=8,
            model__n_heads=2, model__patch_size=2)


@pytest.fixture(scope="module")
def small():
    return simulate_fmri_rois(16, n_regions=8, n_networks=2, n_timepoints=48, n_sites=2,
                              random_state=0)


def test_fit_transform_shapes_and_levels(small):
    pre = BrainMAEPretrainer(**FAST).fit(small)
    assert pre.n_regions_ == 8 and pre.n_times_ == 8 and pre.t_r_ == 2.0
    assert pre.n_segments_fit_ == 16 * 6
    Z = pre.transform(small)
    # coupling pooling: 2 x embed_dim + 8 * 7 / 2 region pairs
    assert Z.shape == (16, 16 + 28) and np.isfinite(Z).all()
    seg = clone(pre).set_params(level="segment").fit(small).transform(small)
    assert seg.shape == (16 * 6, 16 + 28)
    emb, groups = pre.transform_segments(small)
    np.testing.assert_allclose(Z[3], emb[groups == 3].mean(axis=0), rtol=1e-5)
    # plain arrays with t_r, and the model's (n, n_regions, n_timepoints) convention
    arrays = np.stack([ts.T for ts in small.series])
    np.testing.assert_allclose(pre.set_params(t_r=2.0).transform(arrays), Z, rtol=1e-4,
                               atol=1e-5)
    assert len(pre.history_) == 2


def test_same_seed_same_embedding_and_params_untouched(small):
    pre = BrainMAEPretrainer(**FAST, max_segments_per_subject=2)
    before = pre.get_params()
    a = pre.fit(small).transform(small)
    assert pre.get_params() == before
    assert pre.n_segments_fit_ == 32
    b = clone(pre).fit(small).transform(small)
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_linear_probe_pipeline(small):
    probe = make_pipeline(BrainMAEPretrainer(**FAST), LogisticRegression())
    probe.fit(small, small.labels)
    assert probe.predict(small).shape == (16,)
    assert probe.predict_proba(small).shape == (16, 2)


def test_cross_validation_on_plain_series(small):
    """sklearn's CV slices X as a list: one TR (``resample``) makes any slice valid."""
    data = small.resample(1.0)
    assert np.allclose(data.t_r, 1.0) and data.series[0].shape[0] == 95
    probe = make_pipeline(BrainMAEPretrainer(**FAST, t_r=1.0), LogisticRegression())
    scores = cross_val_score(probe, data.series, data.labels, cv=2)
    assert scores.shape == (2,)


def test_checkpoints_and_progress(small, tmp_path, capsys):
    BrainMAEPretrainer(**{**FAST, "max_epochs": 1}, checkpoint_dir=tmp_path / "ckpt",
                       verbose=1).fit(small)
    assert (tmp_path / "ckpt" / "checkpoint.json").exists()  # see test_resume.py
    assert "train_loss" in capsys.readouterr().out


def test_fine_tuning_starts_from_pretrained_weights(small, tmp_path):
    pre = BrainMAEPretrainer(**FAST).fit(small)
    clf = pre.to_classifier(max_epochs=1, lr=1e-12, lr_scheduler=None, weight_decay=0.0)
    assert isinstance(clf, NeuroClassifier)
    seg = pre.segments(small)
    clf.fit(seg.X, small.labels[seg.groups])
    pretrained = pre.module_.state_dict()
    for name, value in clf.module_.state_dict().items():
        if not name.startswith("final_layer"):
            torch.testing.assert_close(value, pretrained[name], rtol=1e-6, atol=1e-6)
    assert clf.predict_proba(seg.X).shape == (len(seg.X), 2)
    path = clf.set_params(callbacks=None).save(tmp_path / "finetuned")
    again = NeuroClassifier.load(path, device="cpu")
    np.testing.assert_allclose(again.predict_proba(seg.X), clf.predict_proba(seg.X), rtol=1e-5)
    reg = pre.to_regressor(max_epochs=1)
    reg.fit(seg.X, np.arange(len(seg.X), dtype=float))
    with pytest.raises(ValueError, match="do not fit"):  # other regions
        pre.to_classifier(max_epochs=1).fit(seg.X[:, :6], small.labels[seg.groups])


def test_bad_inputs(small):
    series = [ts.copy() for ts in small.series]
    nan = [ts.copy() for ts in series]
    nan[2][3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BrainMAEPretrainer(**FAST, t_r=2.0).fit(nan)
    mixed = series[:3] + [series[3][:, :7]]
    with pytest.raises(ValueError, match="different numbers of regions"):
        BrainMAEPretrainer(**FAST, t_r=2.0).fit(mixed)
    with pytest.raises(ValueError, match="t_r"):
        BrainMAEPretrainer(**FAST).fit(series)
    with pytest.raises(ValueError, match="level"):
        BrainMAEPretrainer(**FAST, level="voxel").fit(small)
    with pytest.raises(ValueError, match="max_segments_per_subject"):
        BrainMAEPretrainer(**FAST, max_segments_per_subject=0).fit(small)
    short = series[:4] + [series[4][:5]]
    with pytest.warns(UserWarning, match="shorter than one"):
        pre = BrainMAEPretrainer(**FAST, t_r=2.0).fit(short)
    with pytest.raises(ValueError, match="cannot be embedded"):
        pre.transform(short)
    with pytest.raises(ValueError, match="fitted on 8"):
        pre.transform([ts[:, :7] for ts in series[:2]])


def test_pretrained_embedding_separates_planted_groups_and_attention_finds_networks():
    """Label-free pretraining on the simulator: a cross-validated linear probe of the
    embedding beats chance on the planted coupling difference, and the learned region
    attention stays mostly within the planted networks."""
    data = simulate_fmri_rois(80, n_regions=12, n_networks=3, network_strength=0.7,
                              coupling=0.8, random_state=0)
    pre = BrainMAEPretrainer(max_epochs=10, batch_size=64, lr=3e-3, random_state=0,
                             model__embed_dim=16, model__n_heads=2).fit(data)
    assert pre.history_[-1]["train_loss"] < 0.8 * pre.history_[0]["train_loss"]
    Z = pre.transform(data)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    auc = cross_val_score(probe, Z, data.labels, scoring="roc_auc",
                          cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert auc > 0.7, auc
    seg = pre.segments(data)
    att = pre.module_.region_attention(torch.as_tensor(seg.X[:64])).mean(0).numpy()
    net = data.truth["networks"]
    within = (net[:, None] == net[None]) & ~np.eye(12, dtype=bool)
    between = net[:, None] != net[None]
    assert att[within].mean() > 2 * att[between].mean()
    # a region's strongest attention goes to its own network far above chance (3/11)
    assert np.mean(net[att.argmax(axis=1)] == net) > 0.5


# Expected failures of scikit-learn's checks, each with why.
_EXPECTED_FAILED = {
    # float32 network: a segment in a batch of another size goes through other BLAS
    # blocking and differs at ~2e-7 relative, more than the check's 1e-7.
    "check_methods_subset_invariance": "float32 outputs depend on batch size at 1e-7",
}


class _SnapshotPretrainer(BrainMAEPretrainer):
    """scikit-learn's checks give 2-D tables ``(n, n_regions)``, which
    BrainMAEPretrainer refuses (one subject's series looks the same); this adapter reads
    each row as a one-sample segment, so the checks exercise the rest of the estimator."""

    def segments(self, X, *, fit=False):
        table = validate_data(self, X, reset=fit, dtype=np.float32,
                              ensure_min_features=2 if fit else 1)
        return Segments(X=np.ascontiguousarray(table[:, :, None]),
                        groups=np.arange(len(table)), skipped=[], t_r=float(self.t_r))


@parametrize_with_checks(
    [_SnapshotPretrainer(t_r=1.0, max_epochs=1, batch_size=64, device="cpu", random_state=0,
                         model__embed_dim=4, model__n_heads=1)],
    expected_failed_checks=lambda est: _EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
