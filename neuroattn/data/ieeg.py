"""Loaders of two public seizure sets without an ecosystem loader: the UPenn/Mayo canine
intracranial clips (Kaggle seizure detection 2014) and the Bonn University segments.

Neither is downloaded here: point the functions at folders you already have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["IEEGClips", "load_seizure_detection_clips", "load_bonn", "BONN_SFREQ"]

#: Sampling rate of the Bonn segments, Hz (4097 samples in 23.6 s).
BONN_SFREQ = 173.61


@dataclass
class IEEGClips:
    """Clips of one set with their labels.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n_clips, n_chans, n_times)`` float32, the files' units (microvolts).
    y : numpy.ndarray
        ``(n_clips,)`` 1 ictal, 0 not ictal (interictal, or healthy for Bonn).
    group : numpy.ndarray
        ``(n_clips,)`` seizure index of ictal clips (rebuilt from consecutive
        latencies), -1 for interictal clips (Dog_1); the set letter for Bonn.
    latency : numpy.ndarray
        ``(n_clips,)`` seconds since the seizure onset for ictal clips, NaN otherwise.
    sfreq : float
        Hz.
    ch_names : list of str
    """

    X: np.ndarray
    y: np.ndarray
    group: np.ndarray
    latency: np.ndarray
    sfreq: float
    ch_names: list[str]


def _segment_number(path: Path) -> int:
    match = re.search(r"_(\d+)\.mat$", path.name)
    return int(match.group(1)) if match else 0


def _channel_names(channels: np.ndarray) -> list[str]:
    """Channel names of a clip: the challenge's ``.mat`` files hold a MATLAB struct
    (a structured numpy scalar, one field per channel) or a cell array of strings."""
    cell = channels[0, 0]
    items = cell.tolist() if isinstance(cell, np.void) else np.ravel(cell)
    return [str(np.ravel(c)[0]) for c in items]


def load_seizure_detection_clips(folder: str | Path, *, max_interictal: int | None = None,
                                 ) -> IEEGClips:
    """Ictal and interictal 1-s clips of one subject of the 2014 seizure detection challenge.

    Files ``<subject>_ictal_segment_<k>.mat`` (with ``latency``, seconds since onset)
    and ``<subject>_interictal_segment_<k>.mat``, each holding ``data`` (n_chans x
    n_times), ``freq`` and ``channels``. Test clips (unlabelled) are ignored. Ictal
    clips are numbered in time order; a seizure starts where the latency returns to 0,
    which gives each ictal clip its seizure index.

    Parameters
    ----------
    folder : str | Path
        E.g. ``.../seizure_detection_ieeg/Dog_1``.
    max_interictal : int | None
        Keep only the first ``max_interictal`` interictal clips (by number).

    Returns
    -------
    IEEGClips

    Raises
    ------
    ValueError
        If the folder holds no labelled clip, a clip lacks ``data``/``freq``/
        ``channels`` or holds non-finite data, clips differ in shape, rate or
        channels, or ``max_interictal`` is not an integer >= 1 (naming the file).
    """
    from scipy.io import loadmat

    folder = Path(folder)
    if max_interictal is not None and (isinstance(max_interictal, bool) or not isinstance(
            max_interictal, (int, np.integer)) or max_interictal < 1):
        raise ValueError(f"max_interictal must be None or an integer >= 1, got "
                         f"{max_interictal!r}.")
    ictal = sorted(folder.glob("*_ictal_segment_*.mat"), key=_segment_number)
    inter = sorted(folder.glob("*_interictal_segment_*.mat"), key=_segment_number)
    if max_interictal is not None:
        inter = inter[:max_interictal]
    if not ictal or not inter:
        raise ValueError(f"{folder} must hold *_ictal_segment_*.mat and "
                         f"*_interictal_segment_*.mat clips; found {len(ictal)} and "
                         f"{len(inter)}.")
    X, y, latency, sfreq, ch_names = [], [], [], None, None
    for label, files in ((1, ictal), (0, inter)):
        for f in files:
            try:
                m = loadmat(f)
                fs = float(np.ravel(m["freq"])[0])
                names = _channel_names(m["channels"])
                data = np.asarray(m["data"], dtype=np.float32)
            except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:
                raise ValueError(f"{f}: not a clip of the seizure detection challenge "
                                 f"(expected 'data', 'freq' and 'channels'): "
                                 f"{type(exc).__name__}: {exc}") from exc
            if data.ndim != 2 or not np.isfinite(data).all():
                raise ValueError(f"{f.name}: 'data' must be a finite (n_chans, n_times) "
                                 f"array, got shape {data.shape}.")
            if sfreq is None:
                sfreq, ch_names = fs, names
            elif abs(fs - sfreq) > 1e-3 or data.shape != X[0].shape:
                raise ValueError(f"{f.name}: {data.shape} at {fs} Hz differs from the "
                                 f"first clip, {X[0].shape} at {sfreq} Hz.")
            elif names != ch_names:
                raise ValueError(f"{f.name}: channels {names} differ from the first clip's "
                                 f"{ch_names}.")
            X.append(data)
            y.append(label)
            latency.append(float(np.ravel(m["latency"])[0]) if "latency" in m else np.nan)
    latency = np.asarray(latency)
    y = np.asarray(y, dtype=np.int64)
    group = np.full(len(y), -1, dtype=np.int64)
    seizure = -1
    for i in np.flatnonzero(y == 1):
        if seizure < 0 or latency[i] <= latency[i - 1]:
            seizure += 1
        group[i] = seizure
    return IEEGClips(np.stack(X), y, group, latency, float(sfreq), ch_names)


def load_bonn(folder: str | Path, *, sets: tuple[str, ...] = ("Z", "O", "N", "F", "S"),
              ictal_sets: tuple[str, ...] = ("S",)) -> IEEGClips:
    """The Bonn University segments (Andrzejak et al. 2001), one channel each.

    Parameters
    ----------
    folder : str | Path
        Folder holding the set folders ``Z O N F S`` of text files (one integer a line,
        4097 samples at 173.61 Hz).
    sets : tuple of str
        Sets to load: Z/O healthy (eyes open/closed), N/F interictal, S ictal.
    ictal_sets : tuple of str
        Sets labelled 1.

    Returns
    -------
    IEEGClips
        ``X`` ``(n, 1, 4097)``; ``group`` holds the set letter.

    Raises
    ------
    ValueError
        If a set folder is missing or empty, a segment is not a column of finite
        numbers, or segments differ in length (naming the file).
    """
    folder = Path(folder)
    X, y, group = [], [], []
    for s in sets:
        files = sorted((folder / s).glob("*.txt")) + sorted((folder / s).glob("*.TXT"))
        if not files:
            raise ValueError(f"No segments (*.txt) in {folder / s}.")
        for f in files:
            try:
                data = np.loadtxt(f, dtype=np.float32, ndmin=1)
            except ValueError as exc:
                raise ValueError(f"{f}: expected one number per line: {exc}") from exc
            if data.ndim != 1 or data.size == 0 or not np.isfinite(data).all():
                raise ValueError(f"{f}: expected a non-empty column of finite numbers, got "
                                 f"shape {data.shape}.")
            if X and data.shape != X[0].shape:
                raise ValueError(f"{f.name} has {data.shape[0]} samples, the first segment "
                                 f"{X[0].shape[0]}.")
            X.append(data)
            y.append(int(s in ictal_sets))
            group.append(s)
    X = np.stack(X)[:, None, :]
    return IEEGClips(X, np.asarray(y, dtype=np.int64), np.asarray(group),
                     np.full(len(y), np.nan), BONN_SFREQ, ["EEG"])
