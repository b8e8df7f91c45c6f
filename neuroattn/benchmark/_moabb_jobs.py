"""One MOABB evaluation job: a pipeline on one subject of a dataset (or on all its
subjects, cross-subject), run by :func:`neuroattn.benchmark.mi.run` in this process or
in a joblib worker (:mod:`._parallel`)."""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from typing import Any

from ..data.moabb import LeaveOneSubjectOutWithoutDuplicates, duplicate_runs
from ._report import _json_default
from ._ssvep import needs_epochs
from ._ssvep_two_stage import is_two_stage, two_stage_within_session

#: Evaluation names to MOABB evaluation classes.
EVALUATIONS = {"within_session": "WithinSessionEvaluation",
               "cross_session": "CrossSessionEvaluation",
               "cross_subject": "CrossSubjectEvaluation"}


def _ignore_known_moabb_warnings() -> None:
    """Silence only the warnings MOABB raises on every run (all others reach the caller).

    MOABB stores scores in an HDF5 file (here a temporary one, discarded) and creates
    its datasets without a dtype, which h5py >= 3.12 deprecates; it says nothing about
    the evaluation. Call inside ``warnings.catch_warnings()``.
    """
    warnings.filterwarnings("ignore", message="Creating a dataset without passing data or "
                            "dtype is deprecated", module="moabb")


def _check_evaluation(name: str, datasets: list) -> None:
    if name not in EVALUATIONS:
        raise ValueError(f"Unknown evaluation {name!r}; expected one of {sorted(EVALUATIONS)}.")
    if name == "cross_session":
        few = [d.code for d in datasets if d.n_sessions < 2]
        if few:
            raise ValueError(f"cross_session needs at least 2 sessions per subject; {few} "
                             "have fewer. Use within_session or cross_subject.")
    if name == "cross_subject":
        few = [d.code for d in datasets if len(d.subject_list) < 2]
        if few:
            raise ValueError(f"cross_subject needs at least 2 subjects; {few} have fewer.")


def _evaluation(name: str, paradigm, datasets: list, random_state: int, n_jobs: int,
                hdf5_path: str, **extra: Any):
    import moabb.evaluations as mevaluations

    _check_evaluation(name, datasets)
    cls = getattr(mevaluations, EVALUATIONS[name])
    return cls(paradigm=paradigm, datasets=datasets, random_state=random_state,
               n_jobs=n_jobs, overwrite=True, hdf5_path=hdf5_path, save_model=False,
               verbose="ERROR", **extra)


def _evaluate_job(evaluation: str, paradigm, dataset, subject, name: str, pipe,
                  random_state: int, n_jobs: int, drop_duplicates: bool = False
                  ) -> list[dict]:
    """MOABB's rows for one pipeline on one subject (all subjects when ``subject`` is
    None), as plain JSON values (so a fresh and a resumed run give the same table).

    MOABB's SSVEP classifiers get epochs with the dataset's class names (``mne_labels``);
    with ``drop_duplicates`` a cross-subject job splits with
    :class:`~neuroattn.data.moabb.LeaveOneSubjectOutWithoutDuplicates`."""
    import torch

    if evaluation == "within_session" and subject is not None and is_two_stage(pipe):
        with torch.random.fork_rng():  # SSVEP two-stage: MOABB would pass no subjects
            torch.manual_seed(random_state)
            rows = two_stage_within_session(paradigm, dataset, subject, name, pipe,
                                            random_state)
        return json.loads(json.dumps(rows, default=_json_default))
    extra: dict[str, Any] = {}
    if needs_epochs(pipe):
        extra.update(return_epochs=True, mne_labels=True)
    if drop_duplicates and evaluation == "cross_subject" and duplicate_runs(dataset):
        extra.update(cv_class=LeaveOneSubjectOutWithoutDuplicates,
                     cv_kwargs=LeaveOneSubjectOutWithoutDuplicates.moabb_cv_kwargs(dataset))
    if subject is not None:
        dataset = copy.copy(dataset)
        dataset.subject_list = [subject]
    with tempfile.TemporaryDirectory() as hdf5:
        ev = _evaluation(evaluation, paradigm, [dataset], random_state, n_jobs, hdf5,
                         **extra)
        # Pipelines without a seed of their own draw from torch's global RNG: seed it
        # for this job in a fork, so the caller's RNG is untouched and a resumed run
        # repeats the scores of an uninterrupted one.
        with torch.random.fork_rng(), warnings.catch_warnings():
            _ignore_known_moabb_warnings()
            torch.manual_seed(random_state)
            frame = ev.process({name: pipe})
    return json.loads(json.dumps(frame.to_dict("records"), default=_json_default))
