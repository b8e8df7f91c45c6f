"""Two-stage SSVEP training inside ``neuroattn benchmark`` (within-session).

MOABB's evaluations call ``pipeline.fit(X, y)`` on one subject's training folds with no
subject groups, so an :class:`~neuroattn.estimators.SSVEPClassifier` with fine-tuning
(``finetune_max_epochs > 0``) would only ever run its global stage there. For such a
pipeline a within-session job runs here instead, with MOABB's own folds
(``WithinSessionSplitter``, 5 stratified folds per session, the evaluation's
``random_state``: the same folds as every other pipeline):

1. the global stage on the *other* subjects' trials (every recording of the dataset's
   other subjects, less any run that repeats one of the test subject's runs, see
   :data:`~neuroattn.data.moabb.DUPLICATE_RUNS`), once per test subject: the global
   model never sees a trial of the test subject;
2. per fold, a copy fine-tuned on the test subject's training folds
   (:meth:`~neuroattn.estimators.SSVEPClassifier.fine_tune`), scored on its test fold.

Cross-subject (leave-one-subject-out) jobs stay with MOABB: the global model is trained
on the training subjects and scores the unseen one (the paper's global model; there is
no trial of the test subject to fine-tune on).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

__all__ = ["is_two_stage", "two_stage_within_session"]


def is_two_stage(pipe: Any) -> bool:
    """Whether ``pipe`` ends with an :class:`~neuroattn.estimators.SSVEPClassifier` that
    fine-tunes per subject (``finetune_max_epochs > 0``)."""
    from ..estimators import SSVEPClassifier

    last = pipe.steps[-1][1] if hasattr(pipe, "steps") else pipe
    return isinstance(last, SSVEPClassifier) and last.finetune_max_epochs > 0


def _split(pipe: Any) -> tuple[Any, Any]:
    """The transformer part (or None) and the classifier of a pipeline."""
    from sklearn.base import clone

    if hasattr(pipe, "steps"):
        return (clone(pipe[:-1]) if len(pipe.steps) > 1 else None), clone(pipe.steps[-1][1])
    return None, clone(pipe)


def two_stage_within_session(paradigm: Any, dataset: Any, subject: Any, name: str,
                             pipe: Any, random_state: int) -> list[dict]:
    """Within-session rows (MOABB's columns) of a two-stage SSVEP pipeline for one subject.

    Parameters
    ----------
    paradigm : moabb paradigm
        The SSVEP paradigm of the job.
    dataset : moabb dataset
        Its ``subject_list`` holds every subject of the benchmark; the others form the
        global stage's training set.
    subject : int
        The test subject.
    name : str
        Pipeline name (the ``pipeline`` column).
    pipe : sklearn estimator
        Ending with an :class:`~neuroattn.estimators.SSVEPClassifier`; cloned.
    random_state : int
        Seed of MOABB's within-session folds.

    Returns
    -------
    list of dict
        One row per session: ``score`` (mean fold accuracy), ``time`` (seconds: the
        global stage plus the mean fine-tuning), ``samples``, ``subject``, ``session``,
        ``channels``, ``n_sessions``, ``dataset``, ``pipeline``, ``two_stage_subjects``
        (the subjects of the global stage).

    Raises
    ------
    ValueError
        If ``subject`` is not in ``dataset.subject_list`` or it is the only subject.
    """
    from moabb.evaluations.splitters import WithinSessionSplitter

    from ..data.moabb import recording_ids

    subjects = list(dataset.subject_list)
    if subject not in subjects:
        raise ValueError(f"subject {subject!r} is not in the dataset's subject_list "
                         f"{subjects}.")
    if len(subjects) < 2:
        raise ValueError(f"Two-stage pipeline {name!r}: the global stage needs other "
                         f"subjects than {subject!r}; the benchmark has only {subjects}.")
    data = copy.copy(dataset)
    X, y, meta = paradigm.get_data(data, subjects=subjects)
    meta = meta.reset_index(drop=True)
    y = np.asarray(y)
    recordings = recording_ids(meta, dataset)
    mine = (meta["subject"] == subject).to_numpy()
    others = ~mine & ~np.isin(recordings, np.unique(recordings[mine]))
    prep, clf = _split(pipe)
    Xt = X if prep is None else prep.fit(X[others], y[others]).transform(X)
    start = time.perf_counter()
    clf.fit(Xt[others], y[others])  # the global stage: no trial of the test subject
    global_seconds = time.perf_counter() - start
    rows = []
    sessions = meta.loc[mine, "session"].unique()
    for session in sessions:
        rows_s = np.flatnonzero(mine & (meta["session"] == session).to_numpy())
        meta_s = meta.iloc[rows_s].reset_index(drop=True)
        splitter = WithinSessionSplitter(n_folds=5, shuffle=True, random_state=random_state)
        scores, tune_seconds = [], []
        for train, test in splitter.split(y[rows_s], meta_s):
            tr, te = rows_s[train], rows_s[test]
            t0 = time.perf_counter()
            clf.fine_tune(Xt[tr], y[tr], subject=subject)
            tune_seconds.append(time.perf_counter() - t0)
            predicted = clf.predict(Xt[te], groups=np.full(len(te), subject, dtype=object))
            scores.append(float(np.mean(predicted == y[te])))
        rows.append({"score": float(np.mean(scores)),
                     "time": global_seconds + float(np.mean(tune_seconds)),
                     "samples": int(len(rows_s) * 4 / 5), "subject": subject,
                     "session": str(session), "channels": int(X.shape[1]),
                     "n_sessions": int(len(sessions)), "dataset": dataset.code,
                     "pipeline": name,
                     "two_stage_subjects": sorted({int(s) for s in meta.loc[others,
                                                                              "subject"]})})
    return rows
