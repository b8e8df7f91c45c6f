"""Seizure-forecasting track: leave-one-seizure-out folds, window AUC, event metrics.

The splitter is :class:`~neuroattn.data.splits.LeaveOneSeizureOut` (or any splitter of
a :class:`~neuroattn.data.seizure.SeizureWindows`); per fold a clone of the forecaster
(and of an optional baseline) is fitted, scored on the held-out windows and run as a
monitor on the held-out time; :func:`seizure_scores` turns the result into the scores
table (one row per fold x method) written with :func:`~neuroattn.benchmark.save_results`.
The labelling (SPH, SOP, postictal time) and band-pass are read from the windows, so
the event metrics cannot use other values than the labels were made with.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._files import FolderLock, check_output_dir
from ..data.seizure import SeizureWindows, subject_seizures
from ..data.splits import LeaveOneSeizureOut
from ..estimators.seizure import SeizureForecaster
from ..metrics.seizure import event_metrics, window_auc
from ._parallel import check_n_jobs, fan_out
from ._resume import JobRecords, data_hash, decode_arrays, encode_arrays, fingerprint

__all__ = ["evaluate_leave_one_seizure_out", "rescore_alarms", "seizure_scores"]

logger = logging.getLogger(__name__)

#: The forecaster's alarm-rule parameters recorded with a result.
ALARM_RULE = ("smoothing", "smoothing_seconds", "min_fraction", "threshold",
              "refractory_seconds", "sop_seconds")


def _labelling(windows: SeizureWindows) -> dict[str, float]:
    return {"sph_seconds": float(windows.sph_seconds), "sop_seconds": float(windows.sop_seconds),
            "postictal_seconds": float(windows.postictal_seconds)}


def _check_verbose(verbose: Any) -> int:
    if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)) or verbose < 0:
        raise ValueError(f"verbose must be an int >= 0, got {verbose!r}.")
    return int(verbose)


def _fold(forecaster: Any, baseline: Any, windows: SeizureWindows, train: np.ndarray,
          test: np.ndarray, sid: int, kwargs: dict) -> dict:
    """Fit on ``train``, score and monitor the held-out seizure ``sid``: the fold's record
    (scores, alarms, monitored spans, seizures and probability traces)."""
    est = clone(forecaster).fit(windows.X[train], windows.y[train])
    fold = {"window_auc": float(window_auc(windows.y[test],
                                           est.preictal_proba(windows.X[test])))}
    if baseline is not None:
        base = clone(baseline).fit(windows.X[train], windows.y[train])
        fold["baseline_window_auc"] = float(window_auc(
            windows.y[test], base.predict_proba(windows.X[test])[:, 1]))
    alarms: list[float] = []
    monitored, seizures, traces = [], [], []
    for r in np.unique(windows.recording[test]):
        rec = windows.recordings[int(r)]
        res = est.monitor(rec, **kwargs)
        if (windows.seizure[test][windows.recording[test] == r] == sid).any():
            lo, hi = rec.start, rec.start + rec.duration
            # the subject's seizures with their parts across a file boundary joined
            # (one event, not two), those that start in this file
            seizures += [list(s) for s in subject_seizures(windows.recordings)
                         if lo <= s[0] < hi]
        else:
            sel = windows.start[test][windows.recording[test] == r]
            lo, hi = sel.min(), sel.max() + windows.window_seconds
        keep = (res.alarms + rec.start >= lo) & (res.alarms + rec.start <= hi)
        alarms += (res.alarms[keep] + rec.start).tolist()
        monitored.append([lo, hi])
        traces.append({"start": rec.start, "times": np.asarray(res.times),
                       "probability": np.asarray(res.probability), "span": [lo, hi]})
    fold.update(seizure=sid, n_alarms=len(alarms))
    return {"fold": fold, "alarms": alarms, "monitored": monitored, "seizures": seizures,
            "traces": traces}


def _normalise(record: dict) -> dict:
    """A fold record as it reads back from its JSON file (numpy scalars as Python
    numbers, arrays with their dtype), so that a resumed run equals a fresh one."""
    return decode_arrays(json.loads(json.dumps(encode_arrays(record))))


def evaluate_leave_one_seizure_out(forecaster: SeizureForecaster, windows: SeizureWindows,
                                   *, cv: Any = None, baseline: Any = None,
                                   monitor_kwargs: dict | None = None,
                                   checkpoint_dir: str | Path | None = None,
                                   overwrite: bool = False, n_jobs: int | None = 1,
                                   verbose: int = 0) -> dict:
    """Leave-one-seizure-out evaluation of one subject: window AUC and event metrics.

    For each fold of ``cv`` a clone of ``forecaster`` is fitted on the training
    windows; its window ROC AUC is measured on the held-out windows, and it monitors
    the held-out seizure's whole file and the time span of the held-out interictal
    windows. Alarms of all folds are pooled and scored with
    :func:`neuroattn.metrics.seizure.event_metrics` over the held-out seizures, with the
    SPH, SOP and postictal time the windows were labelled with.

    Parameters
    ----------
    forecaster : SeizureForecaster
        Unfitted estimator (cloned per fold); its alarm rule is used.
    windows : SeizureWindows
        Windows of one subject from :func:`neuroattn.data.seizure.extract_windows`:
        ``X`` ``(n_windows, n_channels, n_times)``, labels, seizure ids, clock starts (s)
        and the labelling (``sph_seconds``, ``sop_seconds``, ``postictal_seconds``) and
        band-pass (``l_freq``, ``h_freq``, Hz) they were made with.
    cv : cross-validator | None
        Splitter whose ``split(windows)`` yields train / test positions, each test set
        holding the preictal windows of exactly one seizure; default
        :class:`~neuroattn.data.splits.LeaveOneSeizureOut`.
    baseline : estimator | None
        Also fitted per fold (e.g. :func:`band_power_baseline`); its window AUC reported.
    monitor_kwargs : dict | None
        Extra arguments of :meth:`SeizureForecaster.monitor`; channels, rate, window
        length and band-pass default to those of ``windows``.
    checkpoint_dir : str | Path | None
        Folder of per-fold records: each fold's scores, alarms and traces are written
        there (one JSON file, atomically) as soon as the fold ends, and a rerun with the
        same folder, windows and parameters continues with the next fold (logged); the
        result equals an uninterrupted run's. The folder is locked while the evaluation
        runs. None: nothing is kept.
    overwrite : bool
        Delete the fold records of an earlier run in ``checkpoint_dir`` and fit every
        fold again.
    n_jobs : int | None
        Folds fitted at once through joblib, each in a worker process with one torch
        thread (``-1``: one per core; a Dask cluster inside
        ``joblib.parallel_backend("dask")``). The result equals that of ``n_jobs=1``
        (the forecaster is seeded by its ``random_state``), and each fold's record is
        written as it ends.
    verbose : int
        0: silent; 1 or more: log one INFO line per fold (logger
        ``neuroattn.benchmark.seizure``).

    Returns
    -------
    dict
        ``"folds"`` (per fold: ``window_auc``, ``baseline_window_auc``, ``seizure`` id,
        ``n_alarms`` raised in that fold's monitored time), ``"window_auc"`` (mean over
        folds), ``"baseline_window_auc"``, ``"events"`` (an
        :class:`~neuroattn.metrics.seizure.EventMetrics` as a dict, with the labelling
        it used), ``"alarms"`` (s, subject clock), ``"monitored"`` and ``"seizures"``
        (``(start, end)`` s), the ``"alarm_rule"``, and ``"traces"`` (per monitored file:
        clock ``start``, ``times``, ``probability``, scored ``span``) to re-score other
        alarm rules with :func:`rescore_alarms`.

    Raises
    ------
    ValueError
        If the subject has fewer than 2 seizures or no interictal windows, a test fold
        of ``cv`` does not hold the preictal windows of exactly one seizure (or ``cv``
        yields no fold), ``verbose`` is not an int >= 0, ``n_jobs`` is 0 or not an
        int, or ``checkpoint_dir`` holds
        the records of a run with other windows or parameters.
    neuroattn._files.FolderLockedError
        If another run holds ``checkpoint_dir``.
    """
    verbose = _check_verbose(verbose)
    n_jobs = check_n_jobs(n_jobs)
    cv = LeaveOneSeizureOut() if cv is None else cv
    if not hasattr(cv, "split"):
        raise ValueError(f"cv must be a cross-validator with split(windows), got {cv!r}.")
    kwargs = dict(monitor_kwargs or {})
    kwargs.setdefault("ch_names", windows.ch_names)
    kwargs.setdefault("sfreq", windows.sfreq)
    kwargs.setdefault("window_seconds", windows.window_seconds)
    kwargs.setdefault("l_freq", windows.l_freq)
    kwargs.setdefault("h_freq", windows.h_freq)
    if checkpoint_dir is None:
        return _evaluate(forecaster, windows, cv, baseline, kwargs, None, verbose, n_jobs)
    identity = {"evaluation": "leave_one_seizure_out", "forecaster": fingerprint(forecaster),
                "baseline": fingerprint(baseline), "cv": fingerprint(cv),
                "monitor_kwargs": repr(sorted(kwargs.items())),
                "data": data_hash(windows.X, windows.y, windows.seizure, windows.recording,
                                  windows.start, repr(sorted(_labelling(windows).items())))}
    check_output_dir(checkpoint_dir, parameter="checkpoint_dir")
    with FolderLock(checkpoint_dir):
        records = JobRecords(checkpoint_dir, identity, overwrite=overwrite).open()
        return _evaluate(forecaster, windows, cv, baseline, kwargs, records, verbose,
                         n_jobs)


def _evaluate(forecaster: Any, windows: SeizureWindows, cv: Any, baseline: Any,
              kwargs: dict, records: JobRecords | None, verbose: int,
              n_jobs: int | None = 1) -> dict:
    splits = list(cv.split(windows))
    if not splits:
        raise ValueError(f"cv {cv!r} yielded no fold for these windows.")
    done = [k for k in range(len(splits)) if records is not None
            and records.path(f"fold-{k:03d}").exists()]
    if done:
        logger.info("%s: %d of %d folds already finished, continuing with the next",
                    records.folder, len(done), len(splits))
    sids = []
    for _, test in splits:  # every fold checked before any is fitted
        held_out = np.unique(windows.seizure[test][windows.y[test] == 1])
        if held_out.size != 1:
            raise ValueError(f"Each test fold of cv must hold the preictal windows of one "
                             f"seizure, got seizures {held_out.tolist()}.")
        sids.append(int(held_out[0]))
    finished: dict[int, dict] = {}
    for k, sid in enumerate(sids):
        record = records.load(f"fold-{k:03d}") if records is not None else None
        if record is not None and record["fold"]["seizure"] != sid:
            raise ValueError(f"{records.path(f'fold-{k:03d}')}: fold {k} holds seizure "
                             f"{record['fold']['seizure']}, expected {sid}; pass "
                             "overwrite=True to start again.")
        if record is not None:
            finished[k] = record
    todo = [k for k in range(len(splits)) if k not in finished]
    jobs = [(forecaster, baseline, windows, *splits[k], sids[k], kwargs) for k in todo]
    for position, result in fan_out(_fold, jobs, n_jobs):  # each record written as it ends
        k = todo[position]
        finished[k] = _normalise(result)
        if records is not None:
            records.save(f"fold-{k:03d}", finished[k])
    folds, alarms, monitored, seizures, traces = [], [], [], [], []
    for k in range(len(splits)):  # in fold order, however the folds ran
        record = finished[k]
        fold = record["fold"]
        alarms += record["alarms"]
        monitored += [tuple(m) for m in record["monitored"]]
        seizures += [tuple(s) for s in record["seizures"]]
        traces += [{**t, "span": tuple(t["span"])} for t in record["traces"]]
        folds.append(fold)
        if verbose:
            logger.info("fold seizure %d: %s", sids[k], ", ".join(
                f"{key}={v:.3f}" for key, v in fold.items() if isinstance(v, float)))
    events = event_metrics(alarms, sorted(set(seizures)), monitored, **_labelling(windows))
    params = forecaster.get_params()
    out = {"folds": folds, "window_auc": float(np.mean([f["window_auc"] for f in folds])),
           "events": events.as_dict(), "alarms": alarms, "monitored": monitored,
           "seizures": sorted(set(seizures)), "traces": traces,
           "alarm_rule": {k: params[k] for k in ALARM_RULE}}
    if baseline is not None:
        out["baseline_window_auc"] = float(np.mean([f["baseline_window_auc"] for f in folds]))
    return out


def seizure_scores(result: dict, *, method: str = "forecaster",
                   baseline: str = "baseline") -> pd.DataFrame:
    """The per-fold scores of :func:`evaluate_leave_one_seizure_out` as a table.

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate_leave_one_seizure_out`.
    method, baseline : str
        Names given to the forecaster's and the baseline's rows.

    Returns
    -------
    pandas.DataFrame
        One row per fold x method: ``fold, seizure, method, window_auc, n_alarms``
        (``n_alarms`` is NaN for the baseline, which raises none).

    Raises
    ------
    ValueError
        If ``result`` has no ``"folds"``.
    """
    if not isinstance(result, dict) or "folds" not in result:
        raise ValueError("result must be the dict of evaluate_leave_one_seizure_out "
                         "(with 'folds').")
    rows = []
    for k, fold in enumerate(result["folds"]):
        rows.append({"fold": k, "seizure": fold["seizure"], "method": method,
                     "window_auc": fold["window_auc"], "n_alarms": fold["n_alarms"]})
        if "baseline_window_auc" in fold:
            rows.append({"fold": k, "seizure": fold["seizure"], "method": baseline,
                         "window_auc": fold["baseline_window_auc"], "n_alarms": np.nan})
    return pd.DataFrame(rows, columns=["fold", "seizure", "method", "window_auc", "n_alarms"])


def rescore_alarms(result: dict, forecaster: SeizureForecaster) -> dict:
    """Event metrics of the traces of :func:`evaluate_leave_one_seizure_out` under the
    alarm rule (smoothing, threshold, refractory period) of ``forecaster``.

    No model is refitted: only the alarm rule changes; the SPH, SOP and postictal time
    are those of the evaluation (``result["events"]``). Choosing a rule by its score on
    these held-out traces is optimistic; report it as such.

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate_leave_one_seizure_out`, whose held-out probability
        traces are rescored.
    forecaster : SeizureForecaster
        Holds the alarm-rule parameters (need not be fitted).

    Returns
    -------
    dict
        :class:`~neuroattn.metrics.seizure.EventMetrics` as a dict.

    Raises
    ------
    ValueError
        If ``result`` lacks the traces or the event metrics of an evaluation.
    """
    missing = [k for k in ("traces", "events", "seizures", "monitored")
               if not isinstance(result, dict) or k not in result]
    if missing:
        raise ValueError(f"result must be the dict of evaluate_leave_one_seizure_out; it "
                         f"lacks {missing}.")
    alarms = []
    for tr in result["traces"]:
        _, a = forecaster.alarms_from_proba(tr["times"], tr["probability"])
        a = a + tr["start"]
        lo, hi = tr["span"]
        alarms += a[(a >= lo) & (a <= hi)].tolist()
    labelling = {k: result["events"][k] for k in ("sph_seconds", "sop_seconds",
                                                   "postictal_seconds")}
    return event_metrics(alarms, result["seizures"], result["monitored"],
                         **labelling).as_dict()
