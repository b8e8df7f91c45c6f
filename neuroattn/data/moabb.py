"""MOABB glue: datasets and paradigms by name, arrays in microvolts, Euclidean alignment,
the simulated motor-imagery recordings as a MOABB dataset that runs offline, and the
SSVEP datasets' quirks (stimulus frequencies from event names, recordings released twice
under two subjects, a leave-one-subject-out splitter that keeps them out of training).
"""

from __future__ import annotations

import copy
import difflib
import inspect
from typing import Any

import numpy as np
from moabb.datasets.base import BaseDataset
from moabb.paradigms import FilterBankSSVEP
from sklearn.model_selection import BaseCrossValidator

from .simulate.motor_imagery import MI_CHANNELS, MI_CLASSES, simulate_motor_imagery

__all__ = ["SimulatedMotorImagery", "get_dataset", "get_paradigm",
           "get_moabb_data", "PARADIGMS", "SSVEP_PARADIGMS", "DUPLICATE_RUNS",
           "stimulus_frequencies", "recording_ids", "duplicate_runs",
           "LeaveOneSubjectOutWithoutDuplicates", "FilterBankSSVEPAllBands"]

#: Paradigm names accepted by :func:`get_paradigm`, to MOABB class names.
PARADIGMS = {"left_right": "LeftRightImagery", "motor_imagery": "MotorImagery",
             "filter_bank_left_right": "FilterBankLeftRightImagery",
             "ssvep": "SSVEP", "filter_bank_ssvep": "FilterBankSSVEP"}

#: The SSVEP paradigms among :data:`PARADIGMS`.
SSVEP_PARADIGMS = ("ssvep", "filter_bank_ssvep")

#: Recordings a dataset releases twice, under two subjects:
#: ``{dataset code: {(subject, session, run) of the copy: (subject, session, run) of the
#: original}}`` with MOABB's session and run names. Kalunga2016 (SSVEPExo): subject 7's
#: first run is subject 3's second run, sample for sample (as in the original release;
#: checked on the files). A leave-one-subject-out evaluation must not train on one copy
#: and test on the other (:class:`LeaveOneSubjectOutWithoutDuplicates`).
DUPLICATE_RUNS = {"Kalunga2016": {(7, "0", "0"): (3, "0", "1")}}

#: Names that mean the offline simulated dataset.
_SIMULATED_NAMES = ("simulated", "simulatedmotorimagery", "simulated_motor_imagery")


class SimulatedMotorImagery(BaseDataset):
    """The motor-imagery simulator as a MOABB dataset: every MOABB evaluation, offline.

    Each run is a continuous recording made of consecutive trials from
    :func:`neuroattn.data.simulate.simulate_motor_imagery` (22 electrodes of
    BNCI2014_001 at 250 Hz; the planted desynchronisation over C4 / C3 / Cz for
    left hand / right hand / feet) with a stim channel marking each trial onset.
    Subjects differ in the strength of their desynchronisation, so results vary across
    subjects as with real data. Nothing is downloaded or written.

    Parameters
    ----------
    n_subjects : int
        Number of subjects (numbered from 1).
    n_sessions : int
        Sessions per subject (named ``"0"``, ``"1"``, ...).
    n_runs : int
        Runs per session.
    trials_per_run : int
        Trials per run, split evenly across the classes.
    n_classes : {2, 3}
        2: left and right hand; 3 adds feet.
    sfreq : float
        Sampling frequency of the simulated recordings, Hz.
    erd_range : tuple of float
        Desynchronisation strength of the first and the last subject (linearly spread
        between, see ``simulate_motor_imagery``'s ``erd_strength``).
    subjects : list of int | None
        Subset of subjects to use (MOABB's ``selected_subjects``).
    random_state : int
        Base seed; subject, session and run derive their own.

    Raises
    ------
    ValueError
        On non-positive counts or an ``erd_range`` outside [0, 1).
    """

    trial_seconds = 4.0
    gap_seconds = 1.0

    def __init__(self, n_subjects: int = 3, n_sessions: int = 2, n_runs: int = 1,
                 trials_per_run: int = 48, n_classes: int = 2, sfreq: float = 250.0,
                 erd_range: tuple[float, float] = (0.25, 0.12),
                 subjects: list[int] | None = None, random_state: int = 42) -> None:
        for name, value in (("n_subjects", n_subjects), ("n_sessions", n_sessions),
                            ("n_runs", n_runs), ("trials_per_run", trials_per_run)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if n_classes not in (2, 3):
            raise ValueError(f"n_classes must be 2 or 3, got {n_classes}.")
        if not all(0 <= e < 1 for e in erd_range) or len(erd_range) != 2:
            raise ValueError(f"erd_range must be two values in [0, 1), got {erd_range}.")
        self.n_runs, self.trials_per_run = int(n_runs), int(trials_per_run)
        self.n_classes, self.sfreq = n_classes, float(sfreq)
        self.erd_range, self.random_state = tuple(erd_range), int(random_state)
        classes = list(MI_CLASSES)[:n_classes]
        code = (f"SimulatedMotorImagery-{n_subjects}-{n_sessions}-{n_runs}-{trials_per_run}-"
                f"{n_classes}-{int(sfreq)}-{self.random_state}")
        super().__init__(subjects=list(range(1, n_subjects + 1)),
                         sessions_per_subject=n_sessions,
                         events={name: k + 1 for k, name in enumerate(classes)},
                         code=code, interval=[0, self.trial_seconds], paradigm="imagery",
                         doi=None, selected_subjects=subjects)

    def _erd(self, subject: int) -> float:
        lo, hi = self.erd_range
        n = len(self._all_subjects)
        return lo + (hi - lo) * (subject - 1) / max(1, n - 1)

    def _make_run(self, subject: int, session: int, run: int):
        import mne

        sfreq = self.sfreq
        seed = self.random_state + 10_000 * subject + 100 * session + run
        block = self.trial_seconds + self.gap_seconds
        X, labels = simulate_motor_imagery(
            self.trials_per_run, n_classes=self.n_classes, sfreq=sfreq, trial_seconds=block,
            erd_strength=self._erd(subject), return_epochs=False, random_state=seed)
        n_block = X.shape[-1]
        data = np.concatenate(list(X), axis=-1).astype(np.float64) * 1e-6  # volts
        stim = np.zeros((1, data.shape[1]))
        onsets = np.arange(self.trials_per_run) * n_block + int(round(0.5 * sfreq))
        stim[0, onsets] = [self.event_id[label] for label in labels]
        info = mne.create_info(list(MI_CHANNELS) + ["STI"], sfreq,
                               ch_types=["eeg"] * len(MI_CHANNELS) + ["stim"])
        raw = mne.io.RawArray(np.vstack([data, stim]), info, verbose="error")
        from ._montage import standard_montage

        raw.set_montage(standard_montage(), verbose="error")
        return raw

    def _get_single_subject_data(self, subject: int) -> dict:
        return {str(session): {str(run): self._make_run(subject, session, run)
                               for run in range(self.n_runs)}
                for session in range(self.n_sessions)}

    def data_path(self, subject: int, path: str | None = None, force_update: bool = False,
                  update_path: bool | None = None, verbose: Any = None) -> list[str]:
        """Nothing to download: returns an empty list."""
        return []


def get_dataset(name: str | BaseDataset, subjects: list[int] | None = None) -> BaseDataset:
    """A MOABB dataset by its class name (``"BNCI2014_001"``, ``"PhysionetMI"``) or
    ``"simulated"`` for :class:`SimulatedMotorImagery`.

    Parameters
    ----------
    name : str | moabb.datasets.base.BaseDataset
        Dataset class name in :mod:`moabb.datasets`, ``"simulated"``, or an instance
        (returned as is, or a copy restricted to ``subjects`` when given).
    subjects : list of int | None
        Subjects to keep.

    Returns
    -------
    moabb.datasets.base.BaseDataset

    Raises
    ------
    ValueError
        If MOABB has no dataset of that name (close names are listed), or ``subjects``
        is empty, repeats a subject or names one the dataset does not have.
    """
    import moabb.datasets as mdatasets

    if isinstance(name, BaseDataset):
        dataset = name
    elif not isinstance(name, str):
        raise ValueError(f"dataset must be a MOABB dataset name or instance, got {name!r}.")
    elif name.lower() in _SIMULATED_NAMES:
        dataset = SimulatedMotorImagery()
    else:
        known = {n: getattr(mdatasets, n) for n in dir(mdatasets)
                 if isinstance(getattr(mdatasets, n), type)
                 and issubclass(getattr(mdatasets, n), BaseDataset)
                 and not n.startswith(("Base", "Fake"))}
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=4, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"MOABB has no dataset {name!r}.{hint} Use a class name of "
                             "moabb.datasets (e.g. 'BNCI2014_001', 'PhysionetMI') or "
                             "'simulated' for the offline simulated dataset.")
        dataset = known[name](imagined=True) if name == "PhysionetMI" else known[name]()
    if subjects is not None:
        if isinstance(subjects, (str, bytes)) or not hasattr(subjects, "__iter__"):
            raise ValueError(f"subjects must be a list of subject numbers, got {subjects!r}.")
        subjects = list(subjects)
        if not subjects:
            raise ValueError(f"subjects is empty; {dataset.code} has subjects "
                             f"{_short(dataset.subject_list)}.")
        twice = sorted({s for s in subjects if subjects.count(s) > 1}, key=str)
        if twice:
            raise ValueError(f"subjects lists {twice} more than once (each would be "
                             "evaluated twice).")
        bad = [s for s in subjects if s not in dataset.subject_list]
        if bad:
            raise ValueError(f"subjects {bad} are not in {dataset.code} (it has "
                             f"{_short(dataset.subject_list)}).")
        dataset = copy.copy(dataset)  # the caller's instance keeps its subjects
        dataset.subject_list = subjects
    return dataset


def _short(items: list) -> str:
    return f"{items[:10]}{'...' if len(items) > 10 else ''}"


def get_paradigm(name: str = "left_right", **kwargs: Any):
    """A MOABB motor-imagery or SSVEP paradigm by short name.

    Parameters
    ----------
    name : {"left_right", "motor_imagery", "filter_bank_left_right", "ssvep", \
"filter_bank_ssvep"}
        Left vs right hand imagery, all imagery classes (``n_classes`` in ``kwargs``),
        or the filter-bank variant; SSVEP (MOABB's ``SSVEP``: one band-pass
        ``fmin``-``fmax``, arrays ``(n_trials, n_chans, n_times)``) or its filter bank
        (``FilterBankSSVEP``: by default a 1-Hz band around each stimulus frequency,
        arrays ``(n_trials, n_chans, n_times, n_bands)``).
    **kwargs
        Passed to the MOABB paradigm (``fmin``, ``fmax``, ``tmin``, ``tmax``,
        ``resample``, ``n_classes``, ``events``...). ``tmin``/``tmax`` count from the
        start of the dataset's task interval (Kalunga2016: 2 s after the cue).

    Returns
    -------
    moabb.paradigms.base.BaseParadigm
        ``"filter_bank_ssvep"`` gives :class:`FilterBankSSVEPAllBands` (MOABB's
        ``FilterBankSSVEP`` that keeps all its bands inside an evaluation).

    Raises
    ------
    ValueError
        If the name is unknown (close names listed), a keyword is not a parameter of
        the paradigm, or a band edge is negative, not finite, or ``fmin >= fmax``.
    """
    import moabb.paradigms as mparadigms

    if name not in PARADIGMS:
        close = difflib.get_close_matches(str(name), list(PARADIGMS), n=2, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown paradigm {name!r}; expected one of "
                         f"{sorted(PARADIGMS)}.{hint}")
    cls = (FilterBankSSVEPAllBands if name == "filter_bank_ssvep"
           else getattr(mparadigms, PARADIGMS[name]))
    signature = inspect.signature(cls.__init__).parameters
    accepted = set(signature) - {"self", "kwargs"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(f"paradigm_kwargs {unknown} are not parameters of the {name!r} "
                         f"paradigm ({cls.__name__}); it takes {sorted(accepted)}.")
    given = {k: (kwargs[k] if k in kwargs else signature[k].default)
             for k in ("fmin", "fmax", "filters") if k in signature}
    bands = given.get("filters") or [(given.get("fmin"), given.get("fmax"))]
    for lo, hi in bands:
        for key, value in (("fmin", lo), ("fmax", hi)):
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, float, np.integer, np.floating)) or not value >= 0
                    or not np.isfinite(value)):
                raise ValueError(f"{key} must be a finite frequency >= 0 Hz, got {value!r}.")
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"fmin ({lo} Hz) must be below fmax ({hi} Hz); a band-pass "
                             "with fmin > fmax would be a band-stop filter.")
    return cls(**kwargs)


def get_moabb_data(dataset: str | BaseDataset, paradigm: str | Any = "left_right",
                   subjects: list[int] | None = None, **paradigm_kwargs: Any):
    """Epochs of a MOABB dataset as arrays in microvolts.

    Parameters
    ----------
    dataset : str | moabb.datasets.base.BaseDataset
        See :func:`get_dataset`.
    paradigm : str | moabb paradigm
        A short name for :func:`get_paradigm` or a paradigm instance.
    subjects : list of int | None
        Subjects to load (all of the dataset's by default).
    **paradigm_kwargs
        Passed to :func:`get_paradigm` when ``paradigm`` is a name.

    Returns
    -------
    X : numpy.ndarray
        ``(n_trials, n_chans, n_times)`` float32, microvolts.
    y : numpy.ndarray
        ``(n_trials,)`` class names.
    metadata : pandas.DataFrame
        One row per trial: ``subject``, ``session``, ``run``.

    Raises
    ------
    ValueError
        If the dataset or paradigm is unknown, or the paradigm does not suit the
        dataset.
    """
    ds = get_dataset(dataset, subjects)
    para = get_paradigm(paradigm, **paradigm_kwargs) if isinstance(paradigm, str) else paradigm
    if not para.is_valid(ds):
        raise ValueError(f"Paradigm {type(para).__name__} does not apply to dataset "
                         f"{ds.code} (its paradigm is {ds.paradigm!r}, events "
                         f"{sorted(ds.event_id)}).")
    # MOABB scales by the dataset's unit factor (1e6 for EEG): X is in microvolts.
    X, y, metadata = para.get_data(ds, subjects=ds.subject_list)
    return np.asarray(X, dtype=np.float32), np.asarray(y), metadata


def stimulus_frequencies(event_names: list[str]) -> dict[str, float | None]:
    """The stimulus frequency (Hz) each SSVEP event name stands for.

    MOABB's SSVEP datasets name their events by frequency (``"13"``, ``"8.6"``); other
    classes (Kalunga2016's ``"rest"``) have none.

    Parameters
    ----------
    event_names : list of str
        Class names of an SSVEP paradigm (``paradigm.used_events(dataset)``).

    Returns
    -------
    dict of str to float or None
        Name to frequency in Hz, None for a name that is not a positive number.
    """
    out: dict[str, float | None] = {}
    for name in event_names:
        try:
            value = float(name)
        except (TypeError, ValueError):
            value = None
        out[name] = value if value is not None and np.isfinite(value) and value > 0 else None
    return out


def duplicate_runs(dataset: BaseDataset | str) -> dict[tuple, tuple]:
    """Runs of ``dataset`` that repeat another subject's run (:data:`DUPLICATE_RUNS`).

    Parameters
    ----------
    dataset : moabb.datasets.base.BaseDataset | str
        A dataset or its code.

    Returns
    -------
    dict
        ``{(subject, session, run) of the copy: (subject, session, run) of the
        original}``; empty for a dataset without known duplicates.
    """
    code = dataset if isinstance(dataset, str) else dataset.code
    return dict(DUPLICATE_RUNS.get(code, {}))


def recording_ids(metadata, dataset: BaseDataset | str) -> np.ndarray:
    """One identifier per trial naming the recording it comes from, copies merged.

    Parameters
    ----------
    metadata : pandas.DataFrame
        MOABB's trial metadata with ``subject``, ``session`` and ``run`` columns.
    dataset : moabb.datasets.base.BaseDataset | str
        The dataset (or code) the trials come from, for :func:`duplicate_runs`.

    Returns
    -------
    numpy.ndarray
        ``(n_trials,)`` strings ``"subject/session/run"``; a trial of a duplicated run
        carries the identifier of the original run.

    Raises
    ------
    ValueError
        If a column is missing.
    """
    missing = [c for c in ("subject", "session", "run") if c not in metadata.columns]
    if missing:
        raise ValueError(f"metadata lacks the columns {missing} of MOABB's trial metadata.")
    copies = duplicate_runs(dataset)
    keys = zip(metadata["subject"], metadata["session"], metadata["run"])
    ids = []
    for subject, session, run in keys:
        key = (int(subject), str(session), str(run))
        ids.append("/".join(map(str, copies.get(key, key))))
    return np.asarray(ids)


def _subject_column(metadata) -> np.ndarray:
    return metadata["subject"].to_numpy()


class LeaveOneSubjectOutWithoutDuplicates(BaseCrossValidator):
    """Leave one subject out, without training on a copy of a test recording.

    Fold k tests on subject k's trials and trains on the other subjects' trials, minus
    any trial whose recording (``recording``, see :func:`recording_ids`) is also among
    the test trials: with Kalunga2016, subject 7's first run (a copy of subject 3's
    second run) is dropped from training when subject 3 is tested, and subject 3's
    second run when subject 7 is tested. With no duplicates it is scikit-learn's
    ``LeaveOneGroupOut`` over subjects.

    Used inside MOABB's ``CrossSubjectEvaluation`` as ``cv_class`` with ``cv_kwargs``
    ``{"subject": fn, "recording": fn}`` (callables of the metadata, resolved by
    MOABB at split time), or directly with arrays.

    Parameters
    ----------
    subject : array-like, shape (n_trials,)
        Subject of each trial.
    recording : array-like, shape (n_trials,) | None
        Recording identifier of each trial, copies sharing the original's identifier;
        None: every subject's trials are their own recordings (no trial dropped).

    Raises
    ------
    ValueError
        At ``split``, if the arrays do not match ``X`` in length or fewer than 2
        subjects are given.
    """

    def __init__(self, subject=None, recording=None) -> None:
        self.subject = subject
        self.recording = recording

    def _arrays(self, X, groups) -> tuple[np.ndarray, np.ndarray]:
        subject = groups if self.subject is None else self.subject
        if subject is None or np.ndim(subject) != 1:
            raise ValueError("LeaveOneSubjectOutWithoutDuplicates needs the subject of each "
                             f"trial (subject=... or groups=...), got {subject!r}.")
        subject = np.asarray(subject)
        n = len(X) if X is not None else len(subject)
        recording = (subject.astype(str) if self.recording is None
                     else np.asarray(self.recording))
        for name, arr in (("subject", subject), ("recording", recording)):
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries, X has {n} trials.")
        if len(np.unique(subject)) < 2:
            raise ValueError("Leave-one-subject-out needs at least 2 subjects, got "
                             f"{np.unique(subject).tolist()}.")
        return subject, recording

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds: the number of subjects."""
        return len(np.unique(self._arrays(X, groups)[0]))

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` trial indices, one fold per subject.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...)
            Trials (only their number is used).
        y : array-like | None
            Ignored.
        groups : array-like, shape (n_trials,) | None
            Subjects, when ``subject`` was not given.

        Yields
        ------
        train, test : numpy.ndarray
            Integer indices.
        """
        subject, recording = self._arrays(X, groups)
        for s in np.unique(subject):
            test = subject == s
            train = ~test & ~np.isin(recording, np.unique(recording[test]))
            yield np.flatnonzero(train), np.flatnonzero(test)

    @staticmethod
    def moabb_cv_kwargs(dataset: BaseDataset | str) -> dict:
        """``cv_kwargs`` for MOABB's ``CrossSubjectEvaluation(cv_class=this class)``:
        the subject and recording of each trial, read from the metadata at split time."""
        import functools

        code = dataset if isinstance(dataset, str) else dataset.code
        return {"subject": _subject_column,
                "recording": functools.partial(_recording_ids_of, code=code)}


def _recording_ids_of(metadata, code: str) -> np.ndarray:
    return recording_ids(metadata, code)



class FilterBankSSVEPAllBands(FilterBankSSVEP):
    """MOABB's ``FilterBankSSVEP`` that keeps all its bands inside an evaluation.

    A MOABB evaluation loads data with the first of the paradigm's processing pipelines
    only (``process_pipelines=[pipeline]``, one pipeline per band), so a filter-bank
    pipeline got ``(n_trials, n_chans, n_times, 1)``, the first band, and scored near
    chance. Given fewer processing pipelines than bands, :meth:`get_data` builds all of
    them (as it does when given none). Parameters and default bands (1 Hz around each
    stimulus frequency) are MOABB's.
    """

    def get_data(self, dataset, *args, **kwargs):
        """MOABB's ``get_data`` with every band (see the class description)."""
        given = kwargs.get("process_pipelines")
        self.prepare_process(dataset)
        if given is not None and len(given) < len(self.filters or ()):
            kwargs["process_pipelines"] = None
        return super().get_data(dataset, *args, **kwargs)
