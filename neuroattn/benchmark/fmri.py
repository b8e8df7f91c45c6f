"""Autism-vs-control style evaluation of BrainMAE against nilearn connectivity baselines.

Leave-site-out or stratified k-fold cross-validation on a
:class:`~neuroattn.data.fmri.RoiTimeSeries`. In every fold each method is fitted on
the training subjects only: BrainMAE is pretrained on them (no test subject is ever
seen) and then read out by a linear probe or fine-tuned; the baselines are
``nilearn.connectome.ConnectivityMeasure`` (correlation or tangent, vectorised) with
a logistic regression or a linear SVM; the Brain Network Transformer (``bnt_<kind>``)
reads the square matrices of the same ``ConnectivityMeasure`` (``vectorize=False``),
every fitted part on the training subjects only. ``brainmae_*_transductive`` also
pretrain on the held-out subjects' series, never on their labels.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from .._files import FolderLock, check_output_dir
from ..data.fmri import RoiTimeSeries
from ..data.splits import LeaveOneSiteOut
from ..estimators.brain_mae import BrainMAEPretrainer
from ._connectome import (
    DEFAULT_TRANSFORMER,
    TRANSFORMER_METHODS,
    connectome_transformer_pipeline,
    run_transformer_methods,
    transformer_recipe,
)
from ._parallel import check_n_jobs, fan_out
from ._report import save_results
from ._resume import JobRecords, data_hash

__all__ = ["FMRI_METHODS", "DEFAULT_METHODS", "DEFAULT_TRANSFORMER", "connectivity_pipeline",
           "connectome_transformer_pipeline", "fmri_splits", "evaluate_fmri",
           "summarize_fmri", "save_fmri_results"]

logger = logging.getLogger(__name__)

#: Methods compared by :func:`evaluate_fmri`.
FMRI_METHODS = ("brainmae_probe", "brainmae_finetune", "brainmae_probe_transductive",
                "brainmae_finetune_transductive", "correlation_logreg", "correlation_svm",
                "tangent_logreg", "tangent_svm", *TRANSFORMER_METHODS)

#: Methods run when none are named (the CLI's default): BrainMAE and the linear peers.
DEFAULT_METHODS = ("brainmae_probe", "brainmae_finetune", "correlation_logreg",
                   "correlation_svm", "tangent_logreg", "tangent_svm")
#: Small defaults that run on a CPU in minutes (override with ``pretrainer_params``).
DEFAULT_PRETRAINER = dict(segment_seconds=16.0, target_t_r=2.0, max_epochs=5,
                          batch_size=64, lr=2e-3, max_segments_per_subject=8,
                          model__embed_dim=16, model__n_heads=2, model__depth=1,
                          model__patch_size=4)
DEFAULT_FINETUNE = dict(max_epochs=15, lr=1e-3, batch_size=64, weight_decay=0.05)


def connectivity_pipeline(kind: str = "correlation", classifier: str = "logreg") -> Pipeline:
    """``ConnectivityMeasure(kind, vectorize=True)`` -> scaler -> linear classifier.

    Parameters
    ----------
    kind : {"correlation", "tangent", "partial correlation", "covariance"}
        nilearn connectivity kind (Ledoit-Wolf covariance, diagonal discarded).
    classifier : {"logreg", "svm"}
        L2 logistic regression or linear SVM.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted on a list of ``(n_timepoints, n_regions)`` series and labels.

    Raises
    ------
    ValueError
        If ``classifier`` is unknown.
    """
    from nilearn.connectome import ConnectivityMeasure

    if classifier == "logreg":
        clf = LogisticRegression(C=0.05, max_iter=2000)
    elif classifier == "svm":
        clf = LinearSVC(C=0.001, max_iter=20000)
    else:
        raise ValueError(f"classifier must be 'logreg' or 'svm', got {classifier!r}.")
    return make_pipeline(ConnectivityMeasure(kind=kind, vectorize=True, discard_diagonal=True,
                                             standardize=False), StandardScaler(), clf)


def fmri_splits(dataset: RoiTimeSeries, cv: str = "leave-site-out", n_splits: int = 5,
                random_state: int | None = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Train/test splits of subjects: one per site, or stratified k-fold.

    Parameters
    ----------
    dataset : RoiTimeSeries
        Subjects with ``label`` and ``site``.
    cv : {"leave-site-out", "stratified"}
        Hold out each site in turn (:class:`~neuroattn.data.splits.LeaveOneSiteOut`),
        or stratified (by label) k-fold (:class:`sklearn.model_selection.StratifiedKFold`).
    n_splits : int
        Folds of the stratified split.
    random_state : int | None
        Shuffling seed of the stratified split.

    Returns
    -------
    list of (str, numpy.ndarray, numpy.ndarray)
        Split name (the site, or ``"fold-k"``), training and test positions.

    Raises
    ------
    ValueError
        If ``cv`` is unknown, labels are missing, or leave-site-out has one site.
    """
    labels = dataset.labels
    if pd.isna(labels).any():
        raise ValueError("Every subject needs a label for classification.")
    if cv == "leave-site-out":
        sites = dataset.sites
        return [(str(sites[te[0]]), tr, te) for tr, te in LeaveOneSiteOut().split(dataset)]
    if cv == "stratified":
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
        return [(f"fold-{k}", tr, te) for k, (tr, te) in
                enumerate(folds.split(np.zeros(len(labels)), labels.astype(int)))]
    raise ValueError(f"cv must be 'leave-site-out' or 'stratified', got {cv!r}.")


def _scores(model: Any, X: Any) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return model.decision_function(X)


def _brainmae(train: RoiTimeSeries, test: RoiTimeSeries, pre_params: dict, ft_params: dict,
              methods: tuple, seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """BrainMAE pretrained on the training subjects only (``brainmae_*``) and/or on the
    training subjects plus the held-out subjects' series WITHOUT their labels
    (``brainmae_*_transductive``: self-supervised only; the probe and the fine-tuning
    still see the training labels only)."""
    out = {}
    for suffix, pool in (("", train), ("_transductive", None)):
        wanted = tuple(m[:-len(suffix)] if suffix else m for m in methods
                       if m.startswith("brainmae") and m.endswith("_transductive") == bool(suffix))
        if not wanted:
            continue
        if pool is None:  # the series only: no label of a test subject is passed on
            pool = [np.asarray(x) for x in list(train.series) + list(test.series)]
            pool = train.__class__(series=pool, meta=pd.concat(
                [train.meta, test.meta.assign(label=np.nan)], ignore_index=True))
        part = _brainmae_one(train, test, pool, pre_params, ft_params, wanted, seed)
        out.update({f"{m}{suffix}": v for m, v in part.items()})
    return out


def _brainmae_one(train: RoiTimeSeries, test: RoiTimeSeries, pool: RoiTimeSeries,
                  pre_params: dict, ft_params: dict, methods: tuple,
                  seed: int) -> dict[str, tuple[np.ndarray, float]]:
    out = {}
    t0 = time.perf_counter()
    pre = BrainMAEPretrainer(random_state=seed, **pre_params).fit(pool)
    t_pre = time.perf_counter() - t0
    if "brainmae_probe" in methods:
        t0 = time.perf_counter()
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
        probe.fit(pre.transform(train), train.labels.astype(int))
        out["brainmae_probe"] = (_scores(probe, pre.transform(test)),
                                 t_pre + time.perf_counter() - t0)
    if "brainmae_finetune" in methods:
        t0 = time.perf_counter()
        seg = pre.segments(train)
        keep = seg.subsample_index(pre_params.get("max_segments_per_subject"),
                                   np.random.RandomState(seed))
        clf = pre.to_classifier(**ft_params)
        clf.fit(seg.X[keep], train.labels.astype(int)[seg.groups[keep]])
        test_seg = pre.segments(test)
        proba = clf.predict_proba(test_seg.X)[:, 1]
        per_subject = pd.Series(proba).groupby(test_seg.groups).mean()
        out["brainmae_finetune"] = (per_subject.reindex(range(len(test))).to_numpy(),
                                    t_pre + time.perf_counter() - t0)
    return out


def _connectivity(train: RoiTimeSeries, test: RoiTimeSeries,
                  methods: list[str]) -> dict[str, tuple[np.ndarray, float]]:
    """The pipelines of :func:`connectivity_pipeline`, each connectivity kind computed
    once per fold and shared by its classifiers (its time is counted for each)."""
    out, y_train = {}, train.labels.astype(int)
    for kind in dict.fromkeys(m.rsplit("_", 1)[0] for m in methods):
        t0 = time.perf_counter()
        conn = connectivity_pipeline(kind)[0].fit(train.series)
        f_train, f_test = conn.transform(train.series), conn.transform(test.series)
        t_conn = time.perf_counter() - t0
        for m in (m for m in methods if m.rsplit("_", 1)[0] == kind):
            t0 = time.perf_counter()
            head = Pipeline(connectivity_pipeline(kind, m.rsplit("_", 1)[1]).steps[1:])
            head.fit(f_train, y_train)
            out[m] = (_scores(head, f_test), t_conn + time.perf_counter() - t0)
    return out


def _check_cv(dataset: RoiTimeSeries, cv: str, n_splits: Any) -> None:
    """Refuse a split that cannot be made, naming the parameter, before any fit."""
    if cv not in ("leave-site-out", "stratified"):
        raise ValueError(f"cv must be 'leave-site-out' or 'stratified', got {cv!r}.")
    if cv == "stratified":
        if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) \
                or n_splits < 2:
            raise ValueError(f"n_splits must be an int >= 2 for cv='stratified', got "
                             f"{n_splits!r}.")
        counts = pd.Series(dataset.labels).value_counts()
        if counts.min() < n_splits:
            raise ValueError(f"n_splits={n_splits} is more than the {counts.min()} subjects "
                             f"of the smallest class ({counts.idxmin()!r}); each of the "
                             "stratified folds needs one of each class.")
    else:
        n_sites = len(set(dataset.sites))
        if n_sites < 2:
            raise ValueError(f"cv='leave-site-out' needs at least 2 sites, the data have "
                             f"{n_sites} ({sorted(set(dataset.sites))}); use "
                             "cv='stratified'.")


def _fold(train: RoiTimeSeries, test: RoiTimeSeries, name: str, methods: tuple,
          pre_params: dict, ft_params: dict, random_state: int,
          verbose: int, bnt_params: dict | None = None) -> list[dict]:
    """The rows of one split: one per method (NaN scores and a note when a side of the
    split holds one class)."""
    y_train, y_test = train.labels.astype(int), test.labels.astype(int)
    base = {"split": name, "n_train": len(train), "n_test": len(test)}
    note = ""
    if len(set(y_test)) < 2:
        note = f"skipped: test split holds one class ({sorted(set(y_test))})"
    elif len(set(y_train)) < 2:
        note = f"skipped: training split holds one class ({sorted(set(y_train))})"
    if note:
        return [{"method": m, **base, "accuracy": np.nan, "roc_auc": np.nan,
                 "fit_seconds": np.nan, "note": note} for m in methods]
    results = {}
    if any(m.startswith("brainmae") for m in methods):
        results.update(_brainmae(train, test, pre_params, ft_params, methods, random_state))
    results.update(run_transformer_methods(
        train, test, [m for m in methods if m.startswith("bnt_")], bnt_params or {},
        pre_params, random_state))
    results.update(_connectivity(train, test, [m for m in methods
                                               if not m.startswith(("brainmae", "bnt_"))]))
    rows = []
    for m in methods:
        score, seconds = results[m]
        threshold = 0.0 if m.endswith("svm") else 0.5  # decision function vs proba
        rows.append({"method": m, **base,
                     "accuracy": float(accuracy_score(y_test, score > threshold)),
                     "roc_auc": float(roc_auc_score(y_test, score)),
                     "fit_seconds": float(seconds), "note": ""})
        if verbose:
            r = rows[-1]
            logger.info("%10s %-20s acc %.3f auc %.3f (%.1f s)", name, m, r["accuracy"],
                        r["roc_auc"], seconds)
    return rows


def evaluate_fmri(dataset: RoiTimeSeries, *, cv: str = "leave-site-out", n_splits: int = 5,
                  methods: tuple[str, ...] | list[str] = DEFAULT_METHODS,
                  pretrainer_params: dict[str, Any] | None = None,
                  finetune_params: dict[str, Any] | None = None,
                  transformer_params: dict[str, Any] | None = None, random_state: int = 0,
                  checkpoint_dir: str | Path | None = None, overwrite: bool = False,
                  n_jobs: int | None = 1, verbose: int = 0) -> pd.DataFrame:
    """Cross-validated accuracy and ROC AUC of BrainMAE and connectivity baselines.

    Parameters
    ----------
    dataset : RoiTimeSeries
        Subjects with binary ``label`` (1 patient, 0 control) and ``site``.
    cv : {"leave-site-out", "stratified"}
        See :func:`fmri_splits`.
    n_splits : int
        Folds when ``cv="stratified"`` (>= 2, at most the subjects of the smallest
        class; ignored for leave-site-out).
    methods : sequence of str
        Subset of :data:`FMRI_METHODS`. ``brainmae_*_transductive`` pretrain BrainMAE
        on the training subjects AND the held-out subjects' series (never their
        labels: self-supervised only); ``bnt_correlation`` / ``bnt_tangent`` are the
        Brain Network Transformer on Fisher-z correlation / tangent-space matrices
        (tangent reference fitted on the training subjects of the fold);
        ``bnt_brainmae`` feeds it the region embeddings of a BrainMAE pretrained on
        the training series (``bnt_brainmae_transductive``: also on the held-out
        series, without labels); ``bnt_tangent_skip`` learns a residual over the
        frozen tangent + logistic regression solution of the training subjects (see
        :data:`~neuroattn.benchmark._connectome.TRANSFORMER_METHODS`).
    pretrainer_params : dict | None
        :class:`~neuroattn.estimators.BrainMAEPretrainer` parameters (defaults:
        ``DEFAULT_PRETRAINER``, small enough for a CPU).
    finetune_params : dict | None
        :class:`~neuroattn.estimators.NeuroClassifier` parameters for fine-tuning
        (defaults: ``DEFAULT_FINETUNE``).
    transformer_params : dict | None
        :class:`~neuroattn.estimators.NeuroClassifier` parameters of the connectome
        transformer methods ``bnt_*``, on top of each method's recipe
        (:func:`~neuroattn.benchmark._connectome.transformer_recipe`:
        ``DEFAULT_TRANSFORMER``, plus ``HYBRID_TRANSFORMER`` for ``bnt_tangent_skip``;
        see :func:`connectome_transformer_pipeline`).
    random_state : int
        Seed of the splits, of BrainMAE and of the connectome transformer.
    checkpoint_dir : str | Path | None
        Folder of per-split records: each split's rows are written there (one small
        JSON file, atomically) as soon as the split ends, and a rerun with the same
        folder, data and parameters continues with the next split (logged). The folder
        is locked while the evaluation runs (a second run on it fails at once). None:
        nothing is kept.
    overwrite : bool
        Discard the split records in ``checkpoint_dir`` and evaluate every split again
        (default: continue from them).
    n_jobs : int | None
        Splits evaluated at once through joblib, each in a worker process with one
        torch thread (:func:`~neuroattn.benchmark._parallel.fan_out`; ``-1``: one per
        core; a Dask cluster inside ``joblib.parallel_backend("dask")``). The table
        equals that of ``n_jobs=1``, and each split's record is written as it ends.
    verbose : int
        0: silent; 1 or more: log one INFO line per fold and method (logger
        ``neuroattn.benchmark.fmri``).

    Returns
    -------
    pandas.DataFrame
        One row per method and split: ``method, split, n_train, n_test, accuracy,
        roc_auc, fit_seconds, note``. A split whose test (or training) subjects hold
        one class only is reported with NaN scores and a note (and a warning), not
        dropped silently.

    Raises
    ------
    ValueError
        If a method is unknown or none is given, labels are not binary, ``n_jobs`` is
        0 or not an int, ``cv`` is unknown, ``n_splits`` is not an int >= 2 or exceeds
        the smallest class, leave-site-out has one site, or ``checkpoint_dir`` holds
        the records of a run with other data or parameters.
    neuroattn._files.FolderLockedError
        If another run holds ``checkpoint_dir``.
    """
    methods = tuple(methods)
    n_jobs = check_n_jobs(n_jobs)
    if not methods:
        raise ValueError(f"methods is empty; choose from {FMRI_METHODS}.")
    unknown = [m for m in methods if m not in FMRI_METHODS]
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; choose from {FMRI_METHODS}.")
    labels = dataset.labels
    if pd.isna(labels).any():
        raise ValueError("Every subject needs a label for classification.")
    if set(pd.unique(labels)) - {0, 1}:
        raise ValueError(f"Labels must be 0/1, got {sorted(set(pd.unique(labels)))}.")
    _check_cv(dataset, cv, n_splits)
    pre_params = {**DEFAULT_PRETRAINER, **(pretrainer_params or {})}
    ft_params = {**DEFAULT_FINETUNE, **(finetune_params or {})}
    bnt_params = dict(transformer_params or {})  # on top of each method's recipe
    if checkpoint_dir is None:
        return _evaluate(dataset, cv, n_splits, methods, pre_params, ft_params,
                         random_state, None, verbose, n_jobs, bnt_params)
    identity = {"evaluation": "fmri", "cv": cv, "n_splits": n_splits if cv == "stratified"
                else None, "methods": list(methods), "pretrainer_params": pre_params,
                "finetune_params": ft_params, "random_state": random_state,
                **({"transformer_params": {k: repr(v) for k, v in
                                           {**DEFAULT_TRANSFORMER, **bnt_params}.items()}}
                   if any(m.startswith("bnt_") for m in methods) else {}),
                **({"method_recipes": {m: repr(transformer_recipe(m)) for m in methods
                                       if m.startswith("bnt_") and m.endswith("_skip")}}
                   if any(m.startswith("bnt_") and m.endswith("_skip") for m in methods)
                   else {}),
                "data": data_hash(list(dataset.series), dataset.meta.to_csv(index=False))}
    check_output_dir(checkpoint_dir, parameter="checkpoint_dir")
    with FolderLock(checkpoint_dir):
        records = JobRecords(checkpoint_dir, identity, overwrite=overwrite).open()
        return _evaluate(dataset, cv, n_splits, methods, pre_params, ft_params,
                         random_state, records, verbose, n_jobs, bnt_params)


def _evaluate(dataset: RoiTimeSeries, cv: str, n_splits: int, methods: tuple,
              pre_params: dict, ft_params: dict, random_state: int,
              records: JobRecords | None, verbose: int, n_jobs: int | None = 1,
              bnt_params: dict | None = None) -> pd.DataFrame:
    splits = fmri_splits(dataset, cv, n_splits, random_state)
    done = [k for k in range(len(splits)) if records is not None
            and records.path(f"fold-{k:03d}").exists()]
    if done:
        logger.info("%s: %d of %d splits already finished, continuing with the next",
                    records.folder, len(done), len(splits))
    folds: dict[int, list[dict]] = {}
    for k, (name, _, test_idx) in enumerate(splits):
        record = records.load(f"fold-{k:03d}") if records is not None else None
        if record is not None:
            if record["split"] != name or record["test"] != test_idx.tolist():
                raise ValueError(f"{records.path(f'fold-{k:03d}')}: split {k} is "
                                 f"{record['split']!r}, expected {name!r}; pass "
                                 "overwrite=True (--overwrite) to start again.")
            folds[k] = record["rows"]
    todo = [k for k in range(len(splits)) if k not in folds]
    jobs = [(dataset.subset(splits[k][1]), dataset.subset(splits[k][2]), splits[k][0],
             methods, pre_params, ft_params, random_state, verbose, bnt_params) for k in todo]
    for position, fold in fan_out(_fold, jobs, n_jobs):  # each record written as it ends
        k = todo[position]
        folds[k] = fold
        if records is not None:
            records.save(f"fold-{k:03d}", {"split": splits[k][0],
                                           "test": splits[k][2].tolist(), "rows": fold})
    rows = []
    for k in range(len(splits)):  # in split order, however the folds ran
        if folds[k] and folds[k][0]["note"]:
            warnings.warn(f"Split {splits[k][0]!r} {folds[k][0]['note']}.", stacklevel=3)
        rows += folds[k]
    return pd.DataFrame(rows, columns=["method", "split", "n_train", "n_test", "accuracy",
                                       "roc_auc", "fit_seconds", "note"])


def summarize_fmri(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over splits of accuracy and ROC AUC per method.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`evaluate_fmri`.

    Returns
    -------
    pandas.DataFrame
        Indexed by method: ``accuracy_mean, accuracy_std, roc_auc_mean, roc_auc_std,
        n_splits`` (skipped splits excluded), ``fit_seconds_mean``.
    """
    if results.empty:
        raise ValueError("results is empty.")
    grouped = results.dropna(subset=["accuracy"]).groupby("method", sort=False)
    out = grouped.agg(accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
                      roc_auc_mean=("roc_auc", "mean"), roc_auc_std=("roc_auc", "std"),
                      n_splits=("accuracy", "size"), fit_seconds_mean=("fit_seconds", "mean"))
    return out


def save_fmri_results(results: pd.DataFrame, out_dir: str | Path,
                      name: str = "fmri_eval") -> dict[str, Path]:
    """Write the per-split table (CSV, with a per-method mean row) and one plot (PNG).

    Parameters
    ----------
    results : pandas.DataFrame
        Per-split scores from :func:`evaluate_fmri`, written as CSV and plotted.
    out_dir : str | Path
        Folder for the CSV and PNG, created if needed.
    name : str
        File stem.

    Returns
    -------
    dict
        ``{"csv": Path, "png": Path}``.
    """
    from ..viz.fmri import plot_fmri_scores

    summary = summarize_fmri(results)
    means = summary.reset_index().rename(columns={"accuracy_mean": "accuracy",
                                                  "roc_auc_mean": "roc_auc",
                                                  "fit_seconds_mean": "fit_seconds"})
    means["split"] = "mean"
    table = pd.concat([results, means[["method", "split", "accuracy", "roc_auc",
                                       "fit_seconds"]]], ignore_index=True)
    paths = save_results(table, out_dir, name, plot=plot_fmri_scores(results),
                         csv_kwargs={"float_format": "%.4f"},
                         savefig_kwargs={"dpi": 110, "bbox_inches": "tight"})
    return {"csv": paths["csv"], "png": paths["png"]}
