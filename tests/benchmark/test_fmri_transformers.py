"""Connectome transformer methods (bnt_*) and transductive BrainMAE in evaluate_fmri."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nilearn.connectome import ConnectivityMeasure
from sklearn.pipeline import Pipeline

import neuroattn.benchmark.fmri as fmri
from neuroattn.benchmark._connectome import ConnectomeScaler
from neuroattn.benchmark.fmri import connectome_transformer_pipeline, evaluate_fmri
from neuroattn.cli import main
from neuroattn.data.simulate import simulate_fmri_rois
from neuroattn.estimators import BrainMAEPretrainer, NeuroClassifier

FAST = dict(max_epochs=2, validation_fraction=None, early_stopping=False,
            model__embed_dim=8, model__n_heads=2, model__n_clusters=4, model__hidden_dims=(8,))
TINY_MAE = dict(max_epochs=1, model__embed_dim=8, model__n_heads=2, model__patch_size=2,
                max_segments_per_subject=2)


@pytest.fixture(scope="module")
def sim():
    return simulate_fmri_rois(24, n_regions=8, n_networks=2, n_timepoints=60, n_sites=3,
                              network_strength=0.7, coupling=0.8, random_state=2)


def test_bnt_methods_beside_the_peers_in_the_same_folds(sim):
    two = sim.subset(np.flatnonzero(sim.sites != "site-2"))
    res = evaluate_fmri(two, methods=("bnt_correlation", "bnt_tangent", "correlation_logreg"),
                        transformer_params=FAST)
    assert len(res) == 6 and set(res["split"]) == {"site-0", "site-1"}
    assert list(res["method"][:3]) == ["bnt_correlation", "bnt_tangent", "correlation_logreg"]
    assert res[["accuracy", "roc_auc"]].stack().between(0, 1).all()
    assert (res["fit_seconds"] > 0).all()


def test_pipeline_fits_the_tangent_reference_on_training_subjects_only(sim):
    train = list(sim.series[:16])
    pipe = connectome_transformer_pipeline("tangent", random_state=0, **FAST)
    assert isinstance(pipe, Pipeline) and pipe[0].vectorize is False
    pipe.fit(train, sim.labels[:16].astype(int))
    ref = ConnectivityMeasure(kind="tangent", standardize=False).fit(train)
    everyone = ConnectivityMeasure(kind="tangent", standardize=False).fit(list(sim.series))
    np.testing.assert_allclose(pipe[0].mean_, ref.mean_)
    assert not np.allclose(pipe[0].mean_, everyone.mean_)
    assert pipe[1].fisher_z is False  # tangent matrices are not correlations
    assert connectome_transformer_pipeline("correlation")[1].fisher_z is True
    assert pipe.predict_proba(list(sim.series[16:])).shape == (8, 2)


def test_scaler_fisher_z_zero_diagonal_unit_scale():
    rng = np.random.default_rng(0)
    X = np.stack([np.corrcoef(rng.standard_normal((8, 40))) for _ in range(5)])
    out = ConnectomeScaler().fit(X).transform(X)
    assert out.dtype == np.float32 and out.shape == X.shape
    assert np.all(np.diagonal(out, axis1=1, axis2=2) == 0)
    off = ~np.eye(8, dtype=bool)
    np.testing.assert_allclose(out[:, off].std(), 1.0, rtol=1e-5)
    z = np.arctanh(X[0, 0, 1])
    scaler = ConnectomeScaler().fit(X)
    np.testing.assert_allclose(out[0, 0, 1], z / scaler.scale_, rtol=1e-5)
    raw = ConnectomeScaler(fisher_z=False, scale=False).fit(X).transform(X)
    np.testing.assert_allclose(raw[0, 0, 1], X[0, 0, 1], rtol=1e-6)
    with pytest.raises(ValueError, match="fitted on 8"):
        scaler.transform(X[:, :6, :6])
    with pytest.raises(ValueError, match="NaN or infinite"):
        ConnectomeScaler().fit(np.full((2, 3, 3), np.nan))


def test_transductive_brainmae_pretrains_on_the_held_out_series_without_labels(sim,
                                                                              monkeypatch):
    seen = []
    fit = BrainMAEPretrainer.fit

    def spy(self, X, y=None):
        seen.append((len(X), int(X.meta["label"].isna().sum()), y))
        return fit(self, X, y)

    monkeypatch.setattr(BrainMAEPretrainer, "fit", spy)
    two = sim.subset(np.flatnonzero(sim.sites != "site-2"))
    res = evaluate_fmri(two, methods=("brainmae_probe", "brainmae_probe_transductive"),
                        pretrainer_params=TINY_MAE)
    n_test = [int((two.sites == s).sum()) for s in ("site-0", "site-1")]
    # per split: first inductive (training subjects only), then transductive (+ test series)
    assert seen == [(len(two) - n_test[0], 0, None), (len(two), n_test[0], None),
                    (len(two) - n_test[1], 0, None), (len(two), n_test[1], None)]
    assert list(res["method"]) == ["brainmae_probe", "brainmae_probe_transductive"] * 2


def test_cli_runs_the_connectome_transformer(tmp_path, capsys):
    code = main(["fmri", "--n-subjects", "12", "--methods", "bnt_correlation",
                 "correlation_logreg", "--bnt-max-epochs", "2", "--out", str(tmp_path),
                 "--quiet"])
    assert code == 0
    table = pd.read_csv(tmp_path / "simulated_leave-site-out.csv")
    assert {"bnt_correlation", "correlation_logreg"} <= set(table["method"])
    assert "bnt_correlation" in capsys.readouterr().out


def test_brainmae_fed_and_skip_methods_run_in_the_same_folds(sim, monkeypatch):
    seen = []
    fit = BrainMAEPretrainer.fit

    def spy(self, X, y=None):
        seen.append((len(X), int(X.meta["label"].isna().sum())))
        return fit(self, X, y)

    monkeypatch.setattr(BrainMAEPretrainer, "fit", spy)
    two = sim.subset(np.flatnonzero(sim.sites != "site-2"))
    methods = ("bnt_brainmae", "bnt_brainmae_transductive", "bnt_tangent_skip",
               "tangent_logreg")
    res = evaluate_fmri(two, methods=methods, transformer_params=FAST,
                        pretrainer_params=TINY_MAE)
    assert list(res["method"]) == list(methods) * 2
    assert res[["accuracy", "roc_auc"]].stack().between(0, 1).all()
    n_test = int((two.sites == "site-0").sum())
    # one pretraining per pool and split: training series only, then + held-out unlabelled
    assert seen[:2] == [(len(two) - n_test, 0), (len(two), n_test)] and len(seen) == 4


def test_pipeline_takes_the_region_embeddings_of_a_fitted_pretrainer(sim):
    pre = BrainMAEPretrainer(random_state=0, **TINY_MAE).fit(sim.subset(np.arange(8)))
    pipe = connectome_transformer_pipeline("tangent", region_embedding=pre, random_state=0,
                                           **FAST)
    pipe.fit(list(sim.series[:16]), sim.labels[:16].astype(int))
    model = pipe[-1].module_
    assert model.region_features.shape == (8, 8)
    emb = pre.module_.region_embed.detach().numpy()
    expected = (emb - emb.mean(0)) / emb.std(0)
    np.testing.assert_allclose(model.region_features.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert pipe.predict_proba(list(sim.series[16:])).shape == (8, 2)
    with pytest.raises(ValueError, match="unfitted BrainMAEPretrainer"):
        connectome_transformer_pipeline("tangent", region_embedding=BrainMAEPretrainer())


def test_linear_skip_is_the_peer_solution_and_training_starts_there(sim):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from neuroattn.benchmark._connectome_skip import LinearSkipTransformer, linear_skip

    mats = ConnectomeScaler(fisher_z=False).fit_transform(ConnectivityMeasure(
        kind="tangent", standardize=False).fit_transform(list(sim.series)))
    y = sim.labels.astype(int)
    W, b = linear_skip(mats, y)
    iu = np.triu_indices(8, k=1)
    feats = mats[:, iu[0], iu[1]]
    peer = LogisticRegression(C=0.05, max_iter=2000).fit(
        StandardScaler().fit_transform(feats), y)
    np.testing.assert_allclose((mats * W).sum((1, 2)) + b, peer.decision_function(
        StandardScaler().fit(feats).transform(feats)), atol=1e-3)
    untrained = LinearSkipTransformer(random_state=0, **{**FAST, "max_epochs": 1, "lr": 1e-12,
                                                            "weight_decay": 0.0})
    proba = untrained.fit(mats, y).predict_proba(mats)[:, 1]
    # the training offsets are out-of-fold: each from a model that never saw the subject
    assert not np.allclose(untrained.oof_logits_, (mats * W).sum((1, 2)) + b, atol=0.1)
    np.testing.assert_allclose(proba, peer.predict_proba(StandardScaler().fit(feats)
                                                         .transform(feats))[:, 1], atol=1e-3)
    with pytest.raises(ValueError, match="two classes"):
        linear_skip(mats, np.zeros(len(y)))
    for bad, match in ((dict(cv=1), "cv must be an int >= 2"), (dict(C=0), "C must be")):
        with pytest.raises(ValueError, match=match):
            LinearSkipTransformer(**bad, **FAST).fit(mats, y)


def test_default_methods_unchanged():
    assert fmri.DEFAULT_METHODS == ("brainmae_probe", "brainmae_finetune", "correlation_logreg",
                                    "correlation_svm", "tangent_logreg", "tangent_svm")
    assert set(fmri.DEFAULT_METHODS) < set(fmri.FMRI_METHODS)
    with pytest.raises(ValueError, match="kind must be"):
        connectome_transformer_pipeline("pearson")


# ----------------------------------------------------------------- bad input (issue 16)

def _asymmetric(X):
    X = X.copy()
    X[1, 0, 2] += 0.3
    return X


def _non_square(X):
    return X[:, :, :-1]


@pytest.mark.parametrize("corrupt, match", [(_asymmetric, "symmetric"),
                                            (_non_square, "square")])
@pytest.mark.parametrize("skip", [False, True])
def test_connectome_transformer_refuses_bad_matrices_before_training(sim, corrupt, match,
                                                                     skip, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started on a bad input")

    monkeypatch.setattr(NeuroClassifier, "_make_net", no_training)
    mats = ConnectivityMeasure(kind="correlation", standardize=False).fit_transform(
        list(sim.series[:8]))
    tail = Pipeline(connectome_transformer_pipeline("correlation", linear_skip=skip,
                                                    **FAST).steps[1:])
    with pytest.raises(ValueError, match=match):
        tail.fit(corrupt(mats), sim.labels[:8].astype(int))


@pytest.mark.parametrize("embedding, match", [
    (np.zeros((7, 4)), r"region_embedding must be a \(n_regions, d\) = \(8, d\)"),
    (np.zeros(8), "region_embedding"),
    (np.full((8, 4), np.inf), "region_embedding holds NaN or infinite"),
])
def test_bad_region_embedding_is_refused_before_training(sim, embedding, match, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started on a bad input")

    monkeypatch.setattr("skorch.NeuralNet.partial_fit", no_training)
    pipe = connectome_transformer_pipeline("correlation", region_embedding=embedding, **FAST)
    with pytest.raises(ValueError, match=match):
        pipe.fit(list(sim.series[:8]), sim.labels[:8].astype(int))
