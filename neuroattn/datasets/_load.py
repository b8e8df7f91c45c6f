"""Loading a card's dataset as its track's native object (after :func:`fetch_dataset`)."""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import Any

from ._cards import DataCard, dataset_card
from ._fetch import _physionet_dir, default_root, fetch_dataset

__all__ = ["load_dataset", "moabb_dataset", "read_siena_seizure_list"]


def _with_path(method, root: str):
    @functools.wraps(method)
    def wrapper(*args, path=None, **kwargs):
        return method(*args, path=root if path is None else path, **kwargs)
    return wrapper


def moabb_dataset(card: DataCard, subjects: list, root: Path | None = None):
    """The card's MOABB dataset restricted to ``subjects``, reading from ``root``.

    MOABB reads from ``MNE_DATA`` unless told otherwise; the returned object's download
    entry points (``data_path``, and ``_load_data`` / ``_load_fn`` where the class has
    them) default to ``root`` instead, so no environment variable or MNE configuration is
    written.
    """
    import moabb.datasets

    cls = getattr(moabb.datasets, card.fetch["class"])
    dataset = cls(**card.fetch["args"])
    dataset.subject_list = list(subjects)
    # The files are fetched (and looked for) in the upstream layout under ``root``.
    # MOABB's NEMAR mirror keeps its own store elsewhere and is tried first by
    # default, which offline costs minutes of timeouts even when every file is here:
    # this instance reads the upstream files only (no global MOABB setting changes).
    if getattr(dataset, "nemar_id", None) is not None:
        dataset.nemar_id = None
    if root is not None:
        root = str(root)
        dataset.data_path = _with_path(dataset.data_path, root)
        if hasattr(dataset, "_load_data"):
            dataset._load_data = _with_path(dataset._load_data, root)
        if callable(getattr(dataset, "_load_fn", None)):
            dataset._load_fn = _with_path(dataset._load_fn, root)
    return dataset


_SIENA_FIELD = re.compile(r"(?im)^\s*(file name|registration start time|registration end "
                          r"time|(?:seizure )?start time|(?:seizure )?end time)\s*:\s*(\S+)")


def _clock(value: str, where: str) -> float:
    parts = re.split(r"[.:]", value.strip())
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{where}: expected a clock time hh.mm.ss, got {value!r}.")
    h, m, s = map(int, parts)
    return h * 3600.0 + m * 60.0 + s


def read_siena_seizure_list(path: str | Path) -> list:
    """Recordings and seizures of a Siena ``Seizures-list-PNxx.txt``.

    Each block names a file, its registration start/end and a seizure's start/end as
    clock times (``hh.mm.ss``); seizure times become seconds from the file's start
    (a time earlier than the registration start is taken to be after midnight).

    Parameters
    ----------
    path : str | Path

    Returns
    -------
    list of neuroattn.data.seizure.SeizureRecording
        One per EDF file named in the list (found in the list's folder), seizures
        merged per file, in the order of the list.

    Raises
    ------
    ValueError
        If a block lacks a file name or a time, a time is not a clock time, or a named
        EDF file is absent.
    """
    from neuroattn.data.seizure import SeizureRecording

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Seizure list {path} does not exist.")
    subject = path.stem.replace("Seizures-list-", "")
    recordings: dict[str, SeizureRecording] = {}
    current, times = None, {}
    fields = _SIENA_FIELD.findall(path.read_text(errors="replace"))
    if not fields:
        raise ValueError(f"{path} holds no 'File name:' / time lines of a Siena seizure list.")

    def close_block():
        need = ("registration start time", "start time", "end time")
        missing = [k for k in need if k not in times]
        if current is None or missing:
            lacks = missing or ["File name"]
            raise ValueError(f"{path}: a seizure block of {current or '?'} lacks {lacks}.")
        reg = _clock(times["registration start time"], f"{path} ({current})")
        onset, offset = (_clock(times[k], f"{path} ({current})") - reg
                         for k in ("start time", "end time"))
        onset, offset = (t + 86400.0 if t < 0 else t for t in (onset, offset))
        edf = path.parent / current
        if not edf.is_file():
            raise ValueError(f"{path} names {current}, which is not in {path.parent}.")
        rec = recordings.setdefault(current, SeizureRecording(edf, [], subject=subject))
        rec.seizures = sorted([*rec.seizures, (onset, offset)])

    for key, value in fields:
        key = key.lower().replace("seizure ", "")
        if key == "file name":
            if current is not None:
                close_block()
            current, times = value, {}
        elif key in times and key in ("start time", "end time"):
            close_block()  # a second seizure in the same block
            reg = times.get("registration start time")
            times = {"registration start time": reg} if reg else {}
            times[key] = value
        else:
            times[key] = value
    close_block()
    return [r.check() for r in recordings.values()]


def load_dataset(name: str, subjects: Any = None, path: str | Path | None = None, *,
                 download: bool = True, verbose: int = 0, **kwargs: Any):
    """A public dataset as its track's native object, fetched first if needed.

    Parameters
    ----------
    name : str
        The dataset to load, by card name or alias (see
        :func:`neuroattn.datasets.list_datasets`).
    subjects : int | str | list | None
        Subject ids of the card (ABIDE: site ids; Bonn: sets Z/O/N/F/S); all when None.
    path : str | Path | None
        Cache root (see :func:`fetch_dataset`); None: the standard cache.
    download : bool
        Download missing files (:func:`fetch_dataset`); False: offline only.
    verbose : int
        0 silent, 1 progress.
    **kwargs
        Passed to the track's loader: ABIDE -> ``fetch_abide_rois`` (``derivative``,
        ``band_pass_filtering``, ``global_signal_regression``, ``quality_checked``,
        ``n_subjects``, ``flat_rois`` ...); ADHD -> ``load_roi_timeseries`` (``atlas``
        required); CHB-MIT -> ``read_chbmit_summary``; UPenn-Mayo ->
        ``load_seizure_detection_clips``; Bonn -> ``load_bonn``; NSD ->
        ``load_algonauts2023``; Miyawaki/Haxby -> the nilearn fetcher.

    Returns
    -------
    object
        MI/SSVEP: the MOABB dataset (``subject_list`` = ``subjects``), to use with a
        MOABB paradigm; CHB-MIT/Siena: list of ``SeizureRecording`` (all subjects, in
        order); UPenn-Mayo: dict subject -> ``IEEGClips``; Bonn: ``IEEGClips``
        ``(500, 1, 4097)`` for all sets; ABIDE/ADHD: ``RoiTimeSeries``; Miyawaki/Haxby:
        nilearn's ``Bunch``; NSD/Algonauts: dict subject -> ``EncodingResponses``.

    Raises
    ------
    ValueError
        As :func:`fetch_dataset` (unknown name, subjects out of range, a missing file
        offline), or from the track's loader when a file's layout differs.
    """
    card = dataset_card(name)
    subjects = card.check_subjects(subjects)
    root = Path(path).expanduser() if path is not None else default_root(card)
    options = {k: kwargs[k] for k in ("derivative", "pipeline", "band_pass_filtering",
                                       "global_signal_regression") if k in kwargs}
    if card.name == "abide_pcp":
        options.setdefault("derivative", "rois_cc200")
    fetch_dataset(card.name, subjects, root, download=download, verbose=verbose, **options)
    method = card.fetch["method"]
    if method == "moabb":
        if kwargs:
            raise ValueError(f"{card.name} takes no loader options, got {sorted(kwargs)}.")
        return moabb_dataset(card, subjects, root)
    if card.name == "chbmit":
        from neuroattn.data.seizure import read_chbmit_summary

        base = _physionet_dir(card, root)
        return [rec for s in subjects for rec in read_chbmit_summary(
            base / card.fetch["summary"].format(subject=s), **kwargs)]
    if card.name == "siena":
        base = _physionet_dir(card, root)
        return [rec for s in subjects for rec in read_siena_seizure_list(
            base / card.fetch["summary"].format(subject=s))]
    if card.name == "upenn_mayo":
        from neuroattn.data.ieeg import load_seizure_detection_clips

        return {s: load_seizure_detection_clips(root / "seizure_detection_ieeg" / s, **kwargs)
                for s in subjects}
    if card.name == "bonn":
        from neuroattn.data.ieeg import load_bonn

        return load_bonn(root / "bonn_epilepsy", sets=tuple(subjects), **kwargs)
    if card.name == "abide_pcp":
        from neuroattn.data.fmri import fetch_abide_rois

        return fetch_abide_rois(root, sites=subjects, verbose=verbose, **kwargs)
    if card.name == "nsd_algonauts2023":
        from neuroattn.data.encoding import load_algonauts2023

        return {s: load_algonauts2023(root, s, **kwargs) for s in subjects}
    return _load_nilearn(card, subjects, root, verbose, kwargs)


def _load_nilearn(card: DataCard, subjects: list, root: Path, verbose: int, kwargs: dict):
    import nilearn.datasets

    fetcher = getattr(nilearn.datasets, card.fetch["function"])
    args = {**card.fetch["args"], "data_dir": str(root), "verbose": verbose}
    if card.name == "adhd200":
        from neuroattn.data.fmri import load_roi_timeseries

        if "atlas" not in kwargs:
            raise ValueError("adhd200 ships 4D images, not ROI series: pass atlas= (a "
                             "labels or maps image, e.g. "
                             "nilearn.datasets.fetch_atlas_msdl().maps).")
        bunch = fetcher(n_subjects=max(subjects), **args)
        pick = [s - 1 for s in subjects]
        confounds = kwargs.pop("confounds", [bunch.confounds[i] for i in pick])
        t_r = kwargs.pop("t_r", getattr(bunch, "t_r", None))
        if t_r is None:
            # nilearn's ADHD bunch has no TR; 2.0 s is the usual ADHD-200 value but
            # not checked for every site: say so rather than assume it silently.
            warnings.warn("adhd200: no repetition time given (t_r=) and none in the "
                          "fetched data; 2.0 s is assumed for every subject.", UserWarning,
                          stacklevel=3)
            t_r = 2.0
        return load_roi_timeseries([bunch.func[i] for i in pick], kwargs.pop("atlas"),
                                   confounds=confounds, t_r=t_r, **kwargs)
    if card.name == "haxby2001":
        args["subjects"] = subjects
    return fetcher(**{**args, **kwargs})
