"""The folds of :mod:`neuroattn.benchmark.seizure_cohort`: planning, one fold's run, scores."""

from __future__ import annotations

import copy
import types
from typing import Any

import numpy as np
from sklearn.base import clone

from ..data.seizure import SeizureWindows, iter_windows, subject_seizures
from ..data.splits import LeaveOneSeizureOut
from ..metrics.seizure import event_metrics, window_auc

#: Suffix of the fine-tuned (adapted) copy of a method.
FINE_TUNED = "+ft"

#: Windows scored per call of a model (memory stays flat on memory-mapped windows).
_CHUNK = 512


def _patients(windows: SeizureWindows) -> list[str]:
    return list(dict.fromkeys(str(s) for s in windows.subject))


def plan_folds(windows: SeizureWindows, scheme: str, adapt: bool) -> list[dict]:
    """Train/test positions of every fold, after checking each patient can be scored.

    Raises
    ------
    ValueError
        Naming the patient: lopo with fewer than 2 patients, a patient without
        interictal windows, or (loso, or lopo with adaptation) fewer than 2 seizures.
    """
    subject = np.asarray(windows.subject).astype(str)
    patients = _patients(windows)
    if scheme == "lopo" and len(patients) < 2:
        raise ValueError(f"Leave-one-patient-out needs at least 2 patients; the data hold "
                         f"only {patients or 'none'}. Add patients or use --scheme loso.")
    for p in patients:
        mine = subject == p
        n_sz = np.unique(windows.seizure[mine & (windows.y == 1)]).size
        if not (mine & (windows.y == 0)).any():
            raise ValueError(f"patient {p} has no interictal window (none at least "
                             f"{windows.min_interictal_seconds:g} s from its seizures); "
                             "expected interictal recordings for every patient.")
        if (scheme == "loso" or adapt) and n_sz < 2:
            what = ("leave-one-seizure-out" if scheme == "loso"
                    else "fine-tuning (one seizure to adapt, one to score)")
            raise ValueError(f"patient {p} has {n_sz} seizure(s) with preictal windows; "
                             f"{what} needs at least 2. Leave the patient out or use "
                             "--scheme lopo without fine-tuning.")
    folds = []
    for p in patients:
        mine = np.flatnonzero(subject == p)
        if scheme == "lopo":
            folds.append({"patient": p, "train": np.flatnonzero(subject != p),
                          "test": mine})
            continue
        view = types.SimpleNamespace(y=windows.y[mine], seizure=windows.seizure[mine],
                                     start=windows.start[mine])
        for train, test in LeaveOneSeizureOut().split(view):
            sid = int(np.unique(view.seizure[test][view.y[test] == 1])[0])
            folds.append({"patient": p, "seizure": sid, "train": mine[train],
                          "test": mine[test]})
    return folds


def _draw(windows: SeizureWindows, idx: np.ndarray, cap: int | None,
          rng: np.random.Generator) -> np.ndarray:
    """Positions drawn so that every (patient, class) group gives the same number."""
    subject = np.asarray(windows.subject).astype(str)[idx]
    groups = [idx[(subject == p) & (windows.y[idx] == c)]
              for p in dict.fromkeys(subject) for c in (0, 1)]
    groups = [g for g in groups if g.size]
    n = max(g.size for g in groups) if cap is None else int(cap)
    out = [rng.choice(g, n, replace=g.size < n) for g in groups]
    return np.sort(np.concatenate(out))


def _proba(model: Any, X: np.ndarray) -> np.ndarray:
    out = [model.predict_proba(np.asarray(X[i: i + _CHUNK]))[:, 1]
           for i in range(0, len(X), _CHUNK)]
    return np.concatenate(out) if out else np.zeros(0)


def _fit(est: Any, X: np.ndarray, y: np.ndarray) -> Any:
    return clone(est).fit(X, y)


def _adapt(model: Any, est: Any, X: np.ndarray, y: np.ndarray, Xa: np.ndarray,
           ya: np.ndarray, fine_tune: dict, seed: int) -> Any:
    if hasattr(model, "fine_tune"):
        # A shallow copy with its own module: fine_tune builds a new net around it (a
        # skorch net with an accelerator does not deep-copy).
        model = copy.copy(model)
        model.module_ = copy.deepcopy(model.module_)
        return model.fine_tune(Xa, ya, max_epochs=fine_tune["max_epochs"],
                                              lr=fine_tune["lr"], random_state=seed)
    return clone(est).fit(np.concatenate([X, Xa]), np.concatenate([y, ya]))


def _adaptation(windows: SeizureWindows, test: np.ndarray, seconds: float) -> np.ndarray:
    """The held-out patient's first seizure's preictal windows and its first
    ``seconds`` of interictal windows (clock order)."""
    pre = test[windows.y[test] == 1]
    first = windows.seizure[pre].min()
    inter = test[windows.y[test] == 0]
    t0 = windows.start[inter].min()
    keep = inter[windows.start[inter] < t0 + seconds]
    return np.sort(np.concatenate([pre[windows.seizure[pre] == first], keep]))


def _spans(windows: SeizureWindows, fold: dict, adapt_idx: np.ndarray | None) -> dict:
    """Per span (``all`` / ``after_adaptation``, or ``held_out`` for loso): the monitored
    ``(file index, lo, hi)`` and the seizures scored."""
    p = fold["patient"]
    files = [i for i, r in enumerate(windows.recordings) if str(r.subject) == p]
    recs = [windows.recordings[i] for i in files]
    seizures = subject_seizures(recs)
    test = fold["test"]
    if "seizure" in fold:  # loso: as benchmark.seizure._fold
        monitored = []
        for i in np.unique(windows.recording[test]):
            rec, sel = windows.recordings[int(i)], windows.recording[test] == i
            if (windows.seizure[test][sel] == fold["seizure"]).any():
                monitored.append((int(i), rec.start, rec.start + rec.duration))
            else:
                st = windows.start[test][sel]
                monitored.append((int(i), float(st.min()),
                                  float(st.max() + windows.window_seconds)))
        return {"held_out": _span(monitored, seizures, whole=[
            m for m in monitored if (windows.seizure[test][windows.recording[test] == m[0]]
                                     == fold["seizure"]).any()])}
    whole = [(i, windows.recordings[i].start,
              windows.recordings[i].start + windows.recordings[i].duration) for i in files]
    out = {"all": _span(whole, seizures, whole)}
    if adapt_idx is not None:
        used = set(np.unique(windows.recording[adapt_idx]).tolist())
        first = min(s[0] for s in seizures)
        rest = [m for m in whole if m[0] not in used]
        out["after_adaptation"] = _span(rest, [s for s in seizures if s[0] > first], rest)
    return out


def _span(monitored: list, seizures: list, whole: list) -> dict:
    """Seizures whose onset lies in a file monitored whole."""
    return {"monitored": [[lo, hi] for _, lo, hi in monitored],
            "files": [int(i) for i, _, _ in monitored],
            "seizures": [list(s) for s in seizures
                         if any(lo <= s[0] < hi for _, lo, hi in whole)]}


def run_fold(fold: dict, k: int, windows: SeizureWindows, methods: dict, alarm_rule: Any,
             fine_tune: dict | None, cap: int | None, random_state: int) -> dict:
    """Fit every method on the fold's training windows (and adapt it), score its
    held-out windows, and monitor the held-out files: the fold's record."""
    rng = np.random.default_rng([int(random_state), k])
    train = _draw(windows, fold["train"], cap, rng)
    X, y = np.asarray(windows.X[train]), windows.y[train]
    test = fold["test"]
    adapt_idx = (_adaptation(windows, test, fine_tune["interictal_seconds"])
                 if fine_tune is not None else None)
    spans = _spans(windows, fold, adapt_idx)
    models = {name: _fit(est, X, y) for name, est in methods.items()}
    if adapt_idx is not None:
        Xa, ya = np.asarray(windows.X[adapt_idx]), windows.y[adapt_idx]
        for name, est in methods.items():
            models[name + FINE_TUNED] = _adapt(models[name], est, X, y, Xa, ya, fine_tune,
                                               int(random_state) + k)
    del X
    scored = {"all": test, "held_out": test}
    if adapt_idx is not None:
        after = set(spans["after_adaptation"]["files"])
        scored["after_adaptation"] = test[np.isin(windows.recording[test], list(after))]
    Xt = windows.X[test]
    record: dict = {"patient": fold["patient"], "spans": spans, "methods": {}}
    if "seizure" in fold:
        record["seizure"] = fold["seizure"]
    probs = {name: _proba(m, Xt) for name, m in models.items()}
    pos = {int(i): j for j, i in enumerate(test)}
    for name in models:
        aucs = {}
        for span in spans:
            if name.endswith(FINE_TUNED) and span == "all":
                continue
            sel = np.array([pos[int(i)] for i in scored[span]], dtype=int)
            labels = windows.y[scored[span]]
            aucs[span] = (window_auc(labels, probs[name][sel])
                          if np.unique(labels).size == 2 else float("nan"))
        record["methods"][name] = {"window_auc": aucs, "traces": []}
    # One pass over each monitored file scores every model on the same windows.
    ranges = {}
    for s in spans.values():
        for i, (lo, hi) in zip(s["files"], s["monitored"]):
            ranges.setdefault(i, (lo, hi))
    for i, (lo, hi) in ranges.items():
        rec = windows.recordings[i]
        want = [n for n in models if not n.endswith(FINE_TUNED)
                or i in spans.get("after_adaptation", {}).get("files", [])]
        times, out = [], {n: [] for n in want}
        for starts, win in iter_windows(rec, window_seconds=windows.window_seconds,
                                        ch_names=windows.ch_names, sfreq=windows.sfreq,
                                        l_freq=windows.l_freq, h_freq=windows.h_freq):
            times.append(starts + windows.window_seconds)
            for n in want:
                out[n].append(models[n].predict_proba(win)[:, 1])
        t = np.concatenate(times)
        for n in want:
            record["methods"][n]["traces"].append({
                "file": int(i), "start": float(rec.start), "times": t,
                "probability": np.round(np.concatenate(out[n]), 5).astype(np.float32),
                "span": [float(lo), float(hi)]})
    return record


_NAN_EVENTS = {"sensitivity": np.nan, "n_seizures": np.nan, "n_predicted": np.nan,
               "false_alarms": np.nan, "false_alarms_per_hour": np.nan,
               "interictal_hours": np.nan, "time_in_warning": np.nan, "p_value": np.nan,
               "warning_minutes": ""}


def scores_of_fold(fold: dict, rule: Any, labelling: dict, scheme: str,
                   label: str) -> list[dict]:
    """Rows of :func:`~neuroattn.benchmark.seizure_cohort.cohort_table` for one fold."""
    import warnings

    rows = []
    for span, s in fold["spans"].items():
        for name, m in fold["methods"].items():
            if span not in m["window_auc"]:
                continue
            files = set(s["files"])
            alarms = []
            for tr in m["traces"]:
                if tr["file"] not in files:
                    continue
                _, a = rule.alarms_from_proba(np.asarray(tr["times"]),
                                              np.asarray(tr["probability"], dtype=float))
                a = a + tr["start"]
                lo, hi = tr["span"]
                alarms += a[(a >= lo) & (a <= hi)].tolist()
            auc = m["window_auc"]
            row = {"scheme": scheme, "patient": fold["patient"], "fold": label,
                   "seizure": fold.get("seizure", ""), "method": name, "span": span,
                   "window_auc": auc[span],
                   "alarms_min": ";".join(f"{a / 60:.1f}" for a in alarms)}
            try:
                with warnings.catch_warnings():
                    # A seizure of another fold's file is never in this fold's spans.
                    warnings.filterwarnings("ignore", message=".*outside the monitored time")
                    ev = event_metrics(alarms, s["seizures"], s["monitored"], **labelling)
                ev = ev.as_dict()
                ev["warning_minutes"] = ";".join(f"{w / 60:.1f}" for w in ev["warning_times"])
                row.update({k: ev[k] for k in _NAN_EVENTS})
            except ValueError as exc:  # no seizure / no interictal time in this fold
                row.update(_NAN_EVENTS, note=str(exc))
            rows.append(row)
    return rows
