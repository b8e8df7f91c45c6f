"""Cross-validated BrainMAE vs connectivity evaluation, its table, plot and CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroattn.benchmark.fmri import (
    FMRI_METHODS,
    connectivity_pipeline,
    evaluate_fmri,
    fmri_splits,
    save_fmri_results,
    summarize_fmri,
)
from neuroattn.cli import main
from neuroattn.data.fmri import fetch_abide_rois
from neuroattn.data.simulate import simulate_fmri_rois

TINY = dict(max_epochs=1, model__embed_dim=8, model__n_heads=2, model__patch_size=2,
            max_segments_per_subject=3)


@pytest.fixture(scope="module")
def sim():
    return simulate_fmri_rois(30, n_regions=10, n_networks=2, n_timepoints=80, n_sites=3,
                              network_strength=0.7, coupling=0.8, random_state=1)


def test_splits_never_mix_train_and_test(sim):
    sites = fmri_splits(sim, "leave-site-out")
    assert [s[0] for s in sites] == ["site-0", "site-1", "site-2"]
    for name, tr, te in sites:
        assert set(sim.sites[te]) == {name} and name not in set(sim.sites[tr])
    folds = fmri_splits(sim, "stratified", n_splits=3)
    test_sets = np.concatenate([te for _, _, te in folds])
    assert sorted(test_sets) == list(range(len(sim)))
    with pytest.raises(ValueError, match="cv must be"):
        fmri_splits(sim, "random")
    with pytest.raises(ValueError, match="at least 2 sites"):
        fmri_splits(sim.subset(np.flatnonzero(sim.sites == "site-0")))


def test_leave_site_out_table_all_methods(sim):
    res = evaluate_fmri(sim, methods=FMRI_METHODS, pretrainer_params=TINY,
                        finetune_params={"max_epochs": 1},
                        transformer_params=dict(max_epochs=1, validation_fraction=None,
                                                early_stopping=False, model__embed_dim=8,
                                                model__n_heads=2, model__n_clusters=4))
    assert len(res) == 3 * len(FMRI_METHODS)
    assert list(res.columns) == ["method", "split", "n_train", "n_test", "accuracy", "roc_auc",
                                 "fit_seconds", "note"]
    assert res[["accuracy", "roc_auc"]].stack().between(0, 1).all()
    summary = summarize_fmri(res)
    assert list(summary.index) == list(FMRI_METHODS) and (summary["n_splits"] == 3).all()
    # the planted coupling difference is easy for connectivity + a linear model
    assert summary.loc["correlation_logreg", "roc_auc_mean"] > 0.8


def test_site_with_one_class_is_reported_not_scored(sim):
    keep = ~((sim.sites == "site-2") & (sim.labels == 1))
    with pytest.warns(UserWarning, match="one class"):
        res = evaluate_fmri(sim.subset(keep), methods=("correlation_logreg",))
    row = res.set_index("split").loc["site-2"]
    assert np.isnan(row["roc_auc"]) and "one class" in row["note"]
    assert res.set_index("split").loc["site-0", "roc_auc"] >= 0
    assert summarize_fmri(res).loc["correlation_logreg", "n_splits"] == 2


def test_stratified_cv_and_outputs(sim, tmp_path):
    res = evaluate_fmri(sim, cv="stratified", n_splits=3,
                        methods=("tangent_svm", "correlation_svm"))
    assert set(res["split"]) == {"fold-0", "fold-1", "fold-2"}
    paths = save_fmri_results(res, tmp_path, "sim")
    table = pd.read_csv(paths["csv"])
    assert (table["split"] == "mean").sum() == 2
    assert paths["png"].stat().st_size > 10_000


def test_bad_arguments(sim):
    with pytest.raises(ValueError, match="Unknown methods"):
        evaluate_fmri(sim, methods=("pca",))
    with pytest.raises(ValueError, match="classifier"):
        connectivity_pipeline("correlation", "forest")


def test_cli_runs_offline_on_simulated_data(tmp_path, capsys):
    code = main(["fmri", "--n-subjects", "12", "--methods", "correlation_logreg",
                 "tangent_logreg", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    assert (tmp_path / "simulated_leave-site-out.csv").exists()
    assert "tangent_logreg" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # refused by argparse, before any work
        main(["fmri", "--max-epochs", "0", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "expected an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.realdata
def test_abide_two_site_evaluation(shared_data):
    with pytest.warns(UserWarning, match="constant"):
        data = fetch_abide_rois(shared_data / "nilearn_data", sites=["CALTECH", "OHSU"])
    # 4 subjects per site and class: both sites (TR 2 s and 2.5 s, 78 and 146 volumes,
    # 200 regions) through BrainMAE and connectivity, each held-out site with both
    # classes. Embedding every segment of 200 regions dominates the cost (8 per cell
    # took 2.6x as long); the methods' scores on the whole sites are the benchmarks'.
    keep = np.concatenate([np.flatnonzero((data.sites == s) & (data.labels == c))[:4]
                           for s in ("CALTECH", "OHSU") for c in (0, 1)])
    sub = data.subset(keep)
    assert sorted(set(np.round(sub.t_r, 2))) == [2.0, 2.5]  # resampling is exercised
    res = evaluate_fmri(sub, methods=("brainmae_probe", "correlation_logreg"),
                        pretrainer_params={**TINY, "max_segments_per_subject": 2})
    assert set(res["split"]) == {"CALTECH", "OHSU"} and (res["n_test"] == 8).all()
    assert res["roc_auc"].notna().all() and res["accuracy"].between(0, 1).all()


def test_convergence_warning_reaches_the_caller(sim, monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    import neuroattn.benchmark.fmri as fmri

    shipped = fmri.connectivity_pipeline

    def one_iteration(kind="correlation", classifier="logreg"):
        pipe = shipped(kind, classifier)
        pipe.steps[-1][1].set_params(max_iter=1)
        return pipe

    monkeypatch.setattr(fmri, "connectivity_pipeline", one_iteration)
    with pytest.warns(ConvergenceWarning):
        evaluate_fmri(sim, methods=("correlation_logreg",))


def test_verbose_logs_instead_of_printing(sim, caplog, capsys):
    with caplog.at_level("INFO", logger="neuroattn.benchmark.fmri"):
        evaluate_fmri(sim, methods=("correlation_logreg",), verbose=1)
    assert capsys.readouterr().out == ""
    assert sum("correlation_logreg" in r.getMessage() for r in caplog.records) == 3


def test_leave_site_out_uses_the_site_splitter(sim):
    from neuroattn.data.splits import LeaveOneSiteOut

    ours = [(tr.tolist(), te.tolist()) for _, tr, te in fmri_splits(sim, "leave-site-out")]
    assert ours == [(tr.tolist(), te.tolist()) for tr, te in LeaveOneSiteOut().split(sim)]
