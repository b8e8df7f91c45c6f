"""Seizure forecasting over a cohort: leave-one-patient-out and per-patient folds.

:func:`evaluate_cohort` runs, over the windows of several patients (a
:class:`~neuroattn.data.seizure.SeizureWindows` whose ``subject`` tells them apart),
either leave-one-patient-out (``scheme="lopo"``: each method trained on the other
patients' windows, balanced across patients and classes, then monitoring the held-out
patient's whole recordings; optionally adapted with the held-out patient's first
seizure and first interictal time) or per-patient leave-one-seizure-out
(``scheme="loso"``). Every method (STAN, the band-power baseline...) is scored with
one alarm rule on the same monitored time, so their event metrics compare. Each fold
is written as it ends (:class:`~neuroattn.benchmark._resume.JobRecords`) and a rerun
continues with the next fold. :func:`cohort_table` turns the result into one row per
patient, fold and method; :func:`pooled_metrics` sums the events over patients.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import FolderLock, check_output_dir
from ..data.seizure import SeizureWindows
from ..estimators.seizure import SeizureForecaster
from ._cohort_folds import FINE_TUNED, plan_folds, run_fold, scores_of_fold
from ._parallel import check_n_jobs, fan_out
from ._resume import JobRecords, data_hash, fingerprint, job_id
from .seizure import ALARM_RULE, _check_verbose, _labelling, _normalise

__all__ = ["evaluate_cohort", "cohort_table", "pooled_metrics", "FINE_TUNED"]

logger = logging.getLogger(__name__)

_SCHEMES = ("lopo", "loso")


def _check_fine_tune(fine_tune: Any) -> dict | None:
    if fine_tune is None:
        return None
    if not isinstance(fine_tune, dict):
        raise ValueError(f"fine_tune must be None or a dict (max_epochs, lr, "
                         f"interictal_seconds), got {fine_tune!r}.")
    unknown = set(fine_tune) - {"max_epochs", "lr", "interictal_seconds"}
    if unknown:
        raise ValueError(f"fine_tune: unknown keys {sorted(unknown)}; expected max_epochs, "
                         "lr, interictal_seconds.")
    out = {"max_epochs": 2, "lr": None, "interictal_seconds": 1800.0, **fine_tune}
    sec = out["interictal_seconds"]
    if not isinstance(sec, (int, float)) or not np.isfinite(sec) or sec < 0:
        raise ValueError(f"fine_tune['interictal_seconds'] must be a finite number >= 0, "
                         f"got {sec!r}.")
    return out


def _identity(windows: SeizureWindows, methods: dict, scheme: str, alarm_rule: Any,
              fine_tune: dict | None, max_windows: int | None, random_state: int) -> dict:
    # X itself may be gigabytes on disk: its rows are hashed at a stride, with every
    # label, clock time and file of the windows.
    step = max(1, len(windows.y) // 64)
    files = [[str(r.path.name), str(r.subject), float(r.start), float(r.duration or 0)]
             for r in windows.recordings]
    return {"evaluation": f"seizure_cohort_{scheme}",
            "methods": {k: fingerprint(v) for k, v in methods.items()},
            "alarm_rule": fingerprint(alarm_rule), "fine_tune": repr(fine_tune),
            "max_windows_per_class": max_windows, "random_state": random_state,
            "data": data_hash(np.asarray(windows.X[::step]), windows.y, windows.seizure,
                              windows.recording, windows.start,
                              np.asarray(windows.subject).astype(str), repr(files),
                              repr(sorted(_labelling(windows).items())),
                              repr((windows.ch_names, windows.sfreq, windows.l_freq,
                                    windows.h_freq, windows.window_seconds)))}


def evaluate_cohort(windows: SeizureWindows, methods: dict[str, Any], *,
                    scheme: str = "lopo", alarm_rule: SeizureForecaster | None = None,
                    fine_tune: dict | None = None, max_windows_per_class: int | None = None,
                    checkpoint_dir: str | Path | None = None, overwrite: bool = False,
                    n_jobs: int | None = 1, random_state: int = 0, verbose: int = 0) -> dict:
    """Leave-one-patient-out or per-patient leave-one-seizure-out over a cohort.

    Parameters
    ----------
    windows : SeizureWindows
        Windows of several patients (``subject``), from
        :func:`~neuroattn.data.seizure.extract_windows` with one declared montage:
        ``X`` ``(n_windows, n_channels, n_times)`` microvolts (a memory map is fine:
        only the training windows of a fold are loaded).
    methods : dict of str to estimator
        Unfitted classifiers with ``predict_proba`` (cloned per fold), e.g.
        ``{"stan": SeizureForecaster(), "baseline": band_power_baseline(sfreq)}``.
    scheme : {"lopo", "loso"}
        Leave-one-patient-out, or leave-one-seizure-out within each patient.
    alarm_rule : SeizureForecaster | None
        Holds the alarm rule applied to every method's probability trace (need not be
        fitted); default ``SeizureForecaster(sop_seconds=windows.sop_seconds)``.
    fine_tune : dict | None
        ``"lopo"`` only: also adapt each fitted method to the held-out patient with its
        first seizure's preictal windows and its first ``interictal_seconds``
        (default 1800) of interictal windows: :meth:`SeizureForecaster.fine_tune`
        (``max_epochs``, default 2, and ``lr``) for forecasters, a refit on the training
        and adaptation windows for other estimators. The adapted methods are named
        ``<name>+ft``; every method is then also scored on the files that gave no
        adaptation window (``span="after_adaptation"``), the paired comparison.
    max_windows_per_class : int | None
        Training windows drawn per patient and class (with replacement only when a
        patient has fewer), so that patients and classes weigh the same; None: as many
        as the largest (patient, class) group holds.
    checkpoint_dir : str | Path | None
        Folder of per-fold records, written as each fold ends; a rerun on it continues
        with the next fold (logged) and returns what an uninterrupted run returns.
    overwrite : bool
        Discard the records of an earlier run in ``checkpoint_dir``.
    n_jobs : int | None
        Folds run in parallel through :func:`~neuroattn.benchmark._parallel.fan_out`
        (worker processes, one thread each); -1: one per core; None: joblib's default.
    random_state : int
        Seeds the window draws and (through ``random_state + fold``) the adaptation.
    verbose : int
        0 silent; >= 1 one INFO line per fold.

    Returns
    -------
    dict
        ``"scheme"``, ``"folds"`` (per fold: ``patient``, ``seizure`` (loso), and per
        method its ``window_auc``, alarms and probability ``traces``), ``"monitored"``
        and ``"seizures"`` per patient and span, the ``"alarm_rule"`` and labelling.

    Raises
    ------
    ValueError
        If ``scheme`` is unknown, ``methods`` is empty, ``n_jobs`` is 0 or not an
        integer, lopo is asked of fewer than 2 patients (naming the one), loso (or
        fine-tuning) of a patient with fewer than 2 seizures with preictal windows
        (naming the patient and its count), a patient has no interictal window, or
        ``checkpoint_dir`` holds the records of another run.
    neuroattn._files.FolderLockedError
        If another run holds ``checkpoint_dir``.
    """
    verbose = _check_verbose(verbose)
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {list(_SCHEMES)}, got {scheme!r}.")
    if not isinstance(methods, dict) or not methods:
        raise ValueError("methods must be a non-empty dict {name: estimator}.")
    bad = [k for k, v in methods.items() if not hasattr(v, "fit")
           or not hasattr(v, "predict_proba") or FINE_TUNED in k]
    if bad:
        raise ValueError(f"methods {bad}: each must be a classifier with fit and "
                         f"predict_proba, named without {FINE_TUNED!r}.")
    n_jobs = check_n_jobs(n_jobs)
    fine_tune = _check_fine_tune(fine_tune)
    if fine_tune is not None and scheme != "lopo":
        raise ValueError("fine_tune applies to scheme='lopo' only (the held-out patient's "
                         "first seizure adapts a model trained on other patients).")
    if max_windows_per_class is not None and (
            isinstance(max_windows_per_class, bool) or
            not isinstance(max_windows_per_class, (int, np.integer)) or
            max_windows_per_class < 1):
        raise ValueError(f"max_windows_per_class must be an integer >= 1 or None, got "
                         f"{max_windows_per_class!r}.")
    if alarm_rule is None:
        alarm_rule = SeizureForecaster(sop_seconds=windows.sop_seconds)
    alarm_rule._check_alarm_params()
    folds = plan_folds(windows, scheme, fine_tune is not None)
    args = (windows, methods, alarm_rule, fine_tune, max_windows_per_class, random_state)
    if checkpoint_dir is None:
        return _evaluate(folds, args, scheme, None, n_jobs, verbose)
    identity = _identity(windows, methods, scheme, alarm_rule, fine_tune,
                         max_windows_per_class, random_state)
    check_output_dir(checkpoint_dir, parameter="checkpoint_dir")
    with FolderLock(checkpoint_dir):
        records = JobRecords(checkpoint_dir, identity, overwrite=overwrite).open()
        return _evaluate(folds, args, scheme, records, n_jobs, verbose)


def _evaluate(folds: list[dict], args: tuple, scheme: str, records: JobRecords | None,
              n_jobs: int | None, verbose: int) -> dict:
    windows, methods, alarm_rule = args[:3]
    names = [job_id(scheme, f["patient"], f.get("seizure", "")) for f in folds]
    done = {k: records.load(n) for k, n in enumerate(names)} if records is not None else {}
    done = {k: v for k, v in done.items() if v is not None}
    if done:
        logger.info("%s: %d of %d folds already finished, continuing with the next",
                    records.folder, len(done), len(folds))
    todo = [k for k in range(len(folds)) if k not in done]
    # the package's one fan-out: one torch/BLAS thread per worker, folds as they end
    jobs = [(folds[k], k, *args) for k in todo]
    produced = ((todo[pos], record) for pos, record in fan_out(run_fold, jobs, n_jobs))
    for k, record in produced:
        record = _normalise(record)
        if records is not None:
            records.save(names[k], record)
        done[k] = record
        if verbose:
            logger.info("fold %s: window AUC %s", names[k], ", ".join(
                f"{m} ({span}) {v:.3f}" for m, r in record["methods"].items()
                for span, v in r["window_auc"].items()))
    params = alarm_rule.get_params()
    return {"scheme": scheme, "folds": [done[k] for k in range(len(folds))],
            "methods": list(methods), "labelling": _labelling(windows),
            "alarm_rule": {k: params[k] for k in ALARM_RULE}}


_EVENT_COLUMNS = ("sensitivity", "n_seizures", "n_predicted", "false_alarms",
                  "false_alarms_per_hour", "interictal_hours", "time_in_warning",
                  "p_value", "warning_minutes")


def cohort_table(result: dict, alarm_rule: SeizureForecaster | None = None) -> pd.DataFrame:
    """One row per patient, fold and method (and span) of :func:`evaluate_cohort`.

    For ``"loso"`` a patient's folds are also pooled into a row with ``fold="all"``
    (its seizures scored together, as in
    :func:`~neuroattn.benchmark.seizure.evaluate_leave_one_seizure_out`).

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate_cohort`.
    alarm_rule : SeizureForecaster | None
        Rescore the stored traces with this alarm rule (no refit); None: the rule of
        the evaluation.

    Returns
    -------
    pandas.DataFrame
        Columns ``scheme, patient, fold, method, span, window_auc`` and the event
        metrics ``sensitivity, n_seizures, n_predicted, false_alarms,
        false_alarms_per_hour, interictal_hours, time_in_warning, p_value,
        warning_minutes`` (``;``-separated); event columns are NaN where a fold has no
        interictal time to score.

    Raises
    ------
    ValueError
        If ``result`` is not an output of :func:`evaluate_cohort`.
    """
    if not isinstance(result, dict) or not {"folds", "scheme", "alarm_rule"} <= set(result):
        raise ValueError("result must be the dict of evaluate_cohort.")
    rule = alarm_rule if alarm_rule is not None else SeizureForecaster(**result["alarm_rule"])
    rows = []
    for k, fold in enumerate(result["folds"]):
        rows += scores_of_fold(fold, rule, result["labelling"], result["scheme"], str(k))
    if result["scheme"] == "loso":
        for patient in dict.fromkeys(f["patient"] for f in result["folds"]):
            folds = [f for f in result["folds"] if f["patient"] == patient]
            spans = {span: {
                "monitored": [m for f in folds for m in f["spans"][span]["monitored"]],
                "files": sorted({i for f in folds for i in f["spans"][span]["files"]}),
                "seizures": [list(s) for s in sorted({tuple(s) for f in folds
                                                      for s in f["spans"][span]["seizures"]})]}
                for span in folds[0]["spans"]}
            methods = {m: {"window_auc": {span: float(np.nanmean(
                [f["methods"][m]["window_auc"][span] for f in folds])) for span in spans},
                "traces": [t for f in folds for t in f["methods"][m]["traces"]]}
                for m in folds[0]["methods"]}
            merged = {"patient": patient, "spans": spans, "methods": methods}
            rows += scores_of_fold(merged, rule, result["labelling"], "loso", "all")
    return pd.DataFrame(rows)


def pooled_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Event metrics summed over patients, per scheme, method and span.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`cohort_table` output (loso: its ``fold="all"`` rows are used).

    Returns
    -------
    pandas.DataFrame
        Per scheme, method and span: ``patients``, ``n_seizures``, ``n_predicted``,
        ``sensitivity`` (pooled), ``false_alarms``, ``interictal_hours``,
        ``false_alarms_per_hour`` (pooled), ``mean_window_auc``,
        ``significant_patients`` (p < 0.05 against a random predictor) and ``p_value``
        of the pooled count with the interictal-hour-weighted time in warning.

    Raises
    ------
    ValueError
        If ``table`` lacks the columns of :func:`cohort_table`.
    """
    from ..metrics.seizure import random_predictor_pvalue

    need = {"scheme", "fold", "method", "span", "patient", "n_seizures", "n_predicted"}
    if not need <= set(table.columns):
        raise ValueError(f"table must be a cohort_table; it lacks {sorted(need - set(table))}.")
    per_patient = table[(table.scheme == "lopo") | (table.fold == "all")]
    rows = []
    for (scheme, method, span), g in per_patient.groupby(["scheme", "method", "span"],
                                                         sort=False):
        g = g.dropna(subset=["n_seizures"])
        n_sz, n_pred = int(g.n_seizures.sum()), int(g.n_predicted.sum())
        hours = float(g.interictal_hours.sum())
        tiw = float(np.average(g.time_in_warning, weights=g.interictal_hours)) if hours else 0.0
        rows.append({"scheme": scheme, "method": method, "span": span,
                     "patients": int(g.patient.nunique()), "n_seizures": n_sz,
                     "n_predicted": n_pred, "sensitivity": n_pred / n_sz if n_sz else np.nan,
                     "false_alarms": int(g.false_alarms.sum()), "interictal_hours": hours,
                     "false_alarms_per_hour": g.false_alarms.sum() / hours if hours else np.nan,
                     "mean_window_auc": float(g.window_auc.mean()),
                     "significant_patients": int((g.p_value < 0.05).sum()),
                     "p_value": random_predictor_pvalue(n_pred, n_sz, min(1.0, tiw))
                     if n_sz else np.nan})
    return pd.DataFrame(rows)
