"""SSVEP in the MOABB benchmark (:mod:`neuroattn.benchmark.mi`): what MOABB's SSVEP
classifiers need from an evaluation, the classes, the paradigm of each pipeline and the
duplicated recordings.

Why MOABB's own ``WithinSessionEvaluation`` scores ``SSVEP_CCA`` / ``SSVEP_TRCA`` at
chance: the evaluation label-encodes ``y`` to ``0..k-1`` before the pipeline sees it
(unless ``mne_labels=True``), and the epochs MOABB's paradigm builds carry the event
*codes* as names (``{"2": 2, "3": 3, "4": 4}``, not ``{"13": 2, ...}``). ``SSVEP_CCA``
then reads ordinal labels, falls back to the event names and builds its sine references
at 2, 3 and 4 Hz; ``SSVEP_TRCA`` takes its filter-bank peaks from the labels (0, 1, 2 Hz).
Nothing fails; the scores are chance. Here the jobs of those pipelines run with
``mne_labels=True`` (labels ``"13"``, ``"17"``, ``"21"``: the frequencies), the others
as before; the folds are the same (MOABB stratifies on the same classes).

And why filter-bank tangent space scored 0.54: ``FilterBankSSVEP()`` fills its default
bands (1 Hz around each stimulus frequency) in ``prepare_process``, which ``get_data``
calls, and an evaluation loads the data with the first band's processing only: the
pipeline got one band, ``(n_trials, n_chans, n_times, 1)``, instead of one per
frequency. ``get_paradigm("filter_bank_ssvep")`` gives
:class:`~neuroattn.data.moabb.FilterBankSSVEPAllBands`, which keeps every band.
"""

from __future__ import annotations

import logging
from typing import Any

from ..data.moabb import (
    PARADIGMS,
    SSVEP_PARADIGMS,
    duplicate_runs,
    get_paradigm,
    stimulus_frequencies,
)

__all__ = ["needs_epochs", "reads_frequencies", "ssvep_classes", "check_frequency_classes",
           "job_paradigms", "duplicate_notes"]

logger = logging.getLogger(__name__)

#: MOABB paradigm class names of the SSVEP paradigms.
_SSVEP_CLASSES = {PARADIGMS[p]: p for p in SSVEP_PARADIGMS}


def _steps(pipe: Any) -> list:
    return [step for _, step in pipe.steps] if hasattr(pipe, "steps") else [pipe]


def _moabb_ssvep():
    import moabb.pipelines.classification as c

    return c


def needs_epochs(pipe: Any) -> bool:
    """Whether a step is one of MOABB's SSVEP classifiers (they take ``mne.Epochs``)."""
    c = _moabb_ssvep()
    kinds = tuple(getattr(c, n) for n in ("SSVEP_CCA", "SSVEP_TRCA", "SSVEP_MsetCCA",
                                           "SSVEP_TRCA_R") if hasattr(c, n))
    return any(isinstance(step, kinds) for step in _steps(pipe))


def reads_frequencies(pipe: Any) -> bool:
    """Whether a step reads the stimulus frequencies from the class names (``SSVEP_CCA``
    without a ``freq_map``, ``SSVEP_TRCA``)."""
    c = _moabb_ssvep()
    trca = tuple(getattr(c, n) for n in ("SSVEP_TRCA", "SSVEP_TRCA_R") if hasattr(c, n))
    return any(isinstance(step, trca) or (isinstance(step, c.SSVEP_CCA)
                                          and getattr(step, "freq_map", None) is None)
               for step in _steps(pipe))


def ssvep_classes(paradigm: str, paradigm_kwargs: dict, datasets: list
                  ) -> tuple[dict, str | None]:
    """The paradigm keywords with the classes made explicit, and a note if any were left
    out.

    Without ``events`` or ``n_classes`` the classes are the stimulus frequencies that
    every dataset has (Kalunga2016: 13, 17, 21 Hz); a class without a frequency
    (Kalunga2016's ``"rest"``) is left out, since MOABB's CCA and TRCA need one per class.
    ``events`` / ``n_classes`` given: used as they are.

    Returns
    -------
    kwargs : dict
        ``paradigm_kwargs`` with ``events`` and ``n_classes`` set.
    note : str | None
        What was left out, for the log and the printed table.

    Raises
    ------
    ValueError
        If the datasets share fewer than 2 stimulus frequencies.
    """
    kwargs = dict(paradigm_kwargs)
    if "events" in kwargs or "n_classes" in kwargs:
        return kwargs, None
    probe = get_paradigm(paradigm, **kwargs)
    names: list[str] | None = None
    left_out: set[str] = set()
    for d in datasets:
        events = list(probe.used_events(d))
        freqs = stimulus_frequencies(events)
        left_out |= {e for e, f in freqs.items() if f is None}
        mine = [e for e, f in freqs.items() if f is not None]
        names = mine if names is None else [e for e in names if e in mine]
    names = sorted(names or [], key=float)
    if len(names) < 2:
        raise ValueError(f"The datasets {[d.code for d in datasets]} share fewer than 2 "
                         f"stimulus frequencies ({names}); pass paradigm_kwargs events=[...].")
    kwargs.update(events=names, n_classes=len(names))
    note = None
    if left_out:
        note = (f"SSVEP classes: the stimulus frequencies {', '.join(names)} Hz; "
                f"{sorted(left_out)} left out (no stimulus frequency, which MOABB's CCA and "
                "TRCA need): pass n_classes / events (--n-classes) to include it.")
        logger.info(note)
    return kwargs, note


def check_frequency_classes(pipes: dict, paradigm, datasets: list) -> None:
    """Refuse a pipeline that reads stimulus frequencies from class names when a class
    has none (it would build a meaningless reference and score near chance).

    Raises
    ------
    ValueError
        Naming the pipelines and the classes without a frequency.
    """
    readers = [name for name, pipe in pipes.items() if reads_frequencies(pipe)]
    if not readers:
        return
    bad = sorted({e for d in datasets for e, f in
                  stimulus_frequencies(list(paradigm.used_events(d))).items() if f is None})
    if bad:
        raise ValueError(f"Pipelines {readers} take each class's stimulus frequency from "
                         f"its name, but the classes {bad} have none; leave them out "
                         "(paradigm_kwargs n_classes / events, --n-classes) or drop these "
                         "pipelines.")


def job_paradigms(pipes: dict, declared: dict, paradigm: str, paradigm_kwargs: dict
                  ) -> dict[str, Any]:
    """The MOABB paradigm each pipeline runs on: the requested one, unless the pipeline
    declares only the other SSVEP paradigm (``FB-TS+LR`` needs ``FilterBankSSVEP``'s
    4-D arrays, ``CCA`` the plain ``SSVEP`` epochs). Same classes, window and trials, so
    the same folds.

    Returns
    -------
    dict of str to moabb paradigm
        Pipeline name to a paradigm instance (one instance per paradigm).
    """
    built: dict[str, Any] = {}

    def make(name: str):
        if name not in built:
            kw = dict(paradigm_kwargs)
            if name == "filter_bank_ssvep":
                kw.pop("fmin", None), kw.pop("fmax", None)
            else:
                kw.pop("filters", None)
            built[name] = get_paradigm(name, **kw)
        return built[name]

    out = {}
    requested = PARADIGMS[paradigm]
    for name in pipes:
        own = [p for p in declared.get(name, []) if p in _SSVEP_CLASSES]
        use = paradigm if not own or requested in own else _SSVEP_CLASSES[own[0]]
        out[name] = make(use)
    return out


def duplicate_notes(datasets: list, evaluation: str, drop: bool) -> dict[tuple, str]:
    """Per ``(dataset code, subject)``: what was done about a recording released twice.

    Returns
    -------
    dict
        ``{(code, subject): note}`` for the subjects concerned; empty for within- and
        cross-session evaluations (a subject's own runs only) or datasets without
        duplicates.
    """
    if evaluation != "cross_subject":
        return {}
    notes = {}
    for d in datasets:
        for copy_key, original in duplicate_runs(d).items():
            if copy_key[0] not in d.subject_list or original[0] not in d.subject_list:
                continue
            what = (f"subject {copy_key[0]} session {copy_key[1]} run {copy_key[2]} repeats "
                    f"subject {original[0]} session {original[1]} run {original[2]}")
            text = (f"{d.code}: {what}; dropped from training when subject {original[0]} or "
                    f"{copy_key[0]} is tested" if drop else
                    f"{d.code}: {what}; NOT dropped (drop_duplicate_runs=False): the scores "
                    f"of subjects {original[0]} and {copy_key[0]} include a recording seen "
                    "in training")
            for s in (original[0], copy_key[0]):
                notes[(d.code, s)] = text
    return notes
