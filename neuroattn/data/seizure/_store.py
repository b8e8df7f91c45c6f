"""Saving labelled seizure windows to a folder and loading them back.

A windows folder holds three files:

* ``X.npy`` - ``(n, n_chans, n_times)`` float32 microvolts (read back as a memory map);
* ``labels.npz`` - ``y``, ``seizure``, ``recording``, ``start`` and ``subject``, each
  ``(n,)``;
* ``meta.json`` - channels, sampling rate, window length, band-pass, the labelling
  (SPH, SOP, postictal, minimum interictal distance) and the recordings (path,
  seizures, clock start, subject, duration).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..._files import atomic_folder
from ._labels import INTERICTAL, PREICTAL
from ._reading import SeizureRecording
from ._windows import SeizureWindows

__all__ = ["save_windows", "load_windows"]

#: Version of the folder layout written by :func:`save_windows`.
FORMAT_VERSION = 1
_ARRAYS = ("y", "seizure", "recording", "start", "subject")
_META = ("ch_names", "sfreq", "window_seconds", "l_freq", "h_freq", "sph_seconds",
         "sop_seconds", "postictal_seconds", "min_interictal_seconds", "recordings")
_CHUNK_BYTES = 64 * 2**20


def _check_content(where: str, *, n_chans: int, y: np.ndarray, seizure: np.ndarray,
                   recording: np.ndarray, start: np.ndarray, n_recordings: int,
                   meta: dict) -> None:
    """Refuse windows whose labels or description cannot be right (``where`` names
    the object or file in the message). Same rules when saving and when loading."""
    names = meta["ch_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(c, str) for c in names):
        raise ValueError(f"{where}: ch_names must be a list of channel names (str), got "
                         f"{names!r}.")
    if len(meta["ch_names"]) != n_chans:
        raise ValueError(f"{where}: {len(meta['ch_names'])} channel names for windows of "
                         f"{n_chans} channels.")
    for key, minimum in (("sfreq", 0.0), ("window_seconds", 0.0), ("sop_seconds", 0.0)):
        v = meta[key]
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > minimum):
            raise ValueError(f"{where}: {key} must be a positive finite number, got {v!r}.")
    for key in ("sph_seconds", "postictal_seconds", "min_interictal_seconds"):
        v = meta[key]
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
            raise ValueError(f"{where}: {key} must be a finite number >= 0, got {v!r}.")
    band = (meta["l_freq"], meta["h_freq"])
    if any(f is not None and not (isinstance(f, (int, float)) and np.isfinite(f) and f > 0)
           for f in band) or (None not in band and band[0] >= band[1]):
        raise ValueError(f"{where}: l_freq, h_freq must be None or positive with l_freq < "
                         f"h_freq (Hz), got {band}.")
    if y.size and not np.isin(y, (INTERICTAL, PREICTAL)).all():
        raise ValueError(f"{where}: y must hold {INTERICTAL} (interictal) and {PREICTAL} "
                         f"(preictal) only, got {sorted(set(np.unique(y).tolist()))}.")
    if recording.size and not (np.issubdtype(recording.dtype, np.integer)
                               and recording.min() >= 0 and recording.max() < n_recordings):
        raise ValueError(f"{where}: 'recording' must index the {n_recordings} recordings, "
                         f"got values of dtype {recording.dtype} in "
                         f"[{recording.min()}, {recording.max()}].")
    if seizure.size and not (np.issubdtype(seizure.dtype, np.integer)
                             and (seizure[y == PREICTAL] >= 0).all()
                             and (seizure[y == INTERICTAL] == -1).all()):
        raise ValueError(f"{where}: 'seizure' must be an integer id >= 0 for each preictal "
                         "window (the seizure it precedes) and -1 for each interictal one.")
    if not np.isfinite(np.asarray(start, dtype=float)).all():
        raise ValueError(f"{where}: 'start' holds non-finite window start times.")


def _meta_of(windows: SeizureWindows) -> dict:
    return {"ch_names": list(windows.ch_names), "sfreq": windows.sfreq,
            "window_seconds": windows.window_seconds,
            **{k: getattr(windows, k) for k in ("l_freq", "h_freq", "sph_seconds",
                                                "sop_seconds", "postictal_seconds",
                                                "min_interictal_seconds")}}


def _check_windows(windows: SeizureWindows) -> None:
    X = windows.X
    if X.ndim != 3:
        raise ValueError(f"windows.X must be (n, n_chans, n_times), got shape {X.shape}.")
    n = len(X)
    lengths = {k: len(getattr(windows, k)) for k in _ARRAYS}
    if set(lengths.values()) != {n}:
        raise ValueError(f"windows.X has {n} windows but the label arrays have lengths "
                         f"{lengths}.")
    _check_content("windows", n_chans=X.shape[1], y=np.asarray(windows.y),
                   seizure=np.asarray(windows.seizure),
                   recording=np.asarray(windows.recording), start=np.asarray(windows.start),
                   n_recordings=len(windows.recordings), meta=_meta_of(windows))


def _write_description(windows: SeizureWindows, folder: Path) -> None:
    """Write ``labels.npz`` and ``meta.json`` of ``windows`` into ``folder``."""
    np.savez(folder / "labels.npz", y=np.asarray(windows.y), seizure=np.asarray(windows.seizure),
             recording=np.asarray(windows.recording), start=np.asarray(windows.start),
             subject=np.asarray(windows.subject).astype(str))
    meta = {"format": FORMAT_VERSION, "ch_names": list(windows.ch_names),
            "sfreq": float(windows.sfreq), "window_seconds": float(windows.window_seconds),
            **{k: getattr(windows, k) for k in ("l_freq", "h_freq", "sph_seconds",
                                                "sop_seconds", "postictal_seconds",
                                                "min_interictal_seconds")},
            "recordings": [{"path": str(r.path), "seizures": [list(s) for s in r.seizures],
                            "start": float(r.start), "subject": str(r.subject),
                            "duration": r.duration} for r in windows.recordings]}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


def _write(windows: SeizureWindows, folder: Path) -> None:
    _check_windows(windows)
    X = windows.X
    out = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.float32,
                                    shape=X.shape)
    step = max(1, _CHUNK_BYTES // max(1, X[:1].nbytes))
    for i in range(0, len(X), step):  # in chunks: memory stays flat for a memory-mapped X
        out[i: i + step] = X[i: i + step]
    out.flush()
    del out
    _write_description(windows, folder)


def save_windows(windows: SeizureWindows, folder: str | Path, *,
                 overwrite: bool = False) -> Path:
    """Write labelled windows to a folder, all at once or not at all.

    The files are written into a temporary sibling folder, which is renamed into place
    only when complete (:func:`neuroattn._files.atomic_folder`): an error midway never
    leaves a half-written ``folder``. Files get the permissions of the user's umask.

    Parameters
    ----------
    windows : SeizureWindows
        Output of :func:`extract_windows` (``X`` of shape ``(n, n_chans, n_times)``,
        float32 microvolts; it may be a memory map, copied in chunks).
    folder : str | Path
        Destination folder (created with its parents).
    overwrite : bool
        Replace an existing non-empty ``folder``; otherwise refuse.

    Returns
    -------
    Path
        ``folder``, holding ``X.npy``, ``labels.npz`` and ``meta.json``.

    Raises
    ------
    ValueError
        If ``windows`` is not a :class:`SeizureWindows` with consistent arrays, if
        ``folder`` is a file, or if it is a non-empty folder and ``overwrite`` is False.
    """
    if not isinstance(windows, SeizureWindows):
        raise ValueError(f"windows must be a SeizureWindows, got {type(windows).__name__}.")
    _check_windows(windows)  # before anything is created
    with atomic_folder(folder, overwrite=overwrite) as tmp:
        _write(windows, tmp)
    return Path(folder)


def _check_npy_size(path: Path) -> None:
    """Refuse an ``.npy`` file shorter than its header says (a truncated copy)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh)
            offset = fh.tell()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"{path} is not a readable .npy file: {exc}") from exc
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = path.stat().st_size
    if found < expected:
        raise ValueError(f"{path} is truncated: its header announces shape {shape} of "
                         f"{dtype}, {expected} bytes, but the file holds {found}. Write the "
                         "windows again (extract_windows(..., out=...) or save_windows).")


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(meta).__name__}.")
    missing = [k for k in _META if k not in meta]
    if missing:
        raise ValueError(f"{path} lacks {missing} (written by an older version? run "
                         "extract_windows and save_windows again).")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: layout version {meta.get('format')!r}, this version of "
                         f"neuroattn reads {FORMAT_VERSION}; window the recordings again.")
    return meta


def _read_labels(path: Path, n: int) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable .npz file: {exc}") from exc
    missing = [k for k in _ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks arrays {missing}; it has {sorted(arrays)}.")
    bad = {k: arrays[k].shape for k in _ARRAYS if arrays[k].shape != (n,)}
    if bad:
        raise ValueError(f"{path}: arrays {bad} do not match the {n} windows of X.npy.")
    return arrays


def load_windows(folder: str | Path, mmap: bool = True) -> SeizureWindows:
    """Read windows written by :func:`save_windows`.

    Parameters
    ----------
    folder : str | Path
        The folder holding ``X.npy``, ``labels.npz`` and ``meta.json``.
    mmap : bool
        Map ``X`` read-only from disk (nothing is read until indexed); False loads it
        into memory.

    Returns
    -------
    SeizureWindows
        ``X`` of shape ``(n, n_chans, n_times)`` float32 microvolts (a read-only
        ``numpy.memmap`` when ``mmap``); ``recordings`` rebuilt from the stored paths
        (a file that no longer exists keeps its path and is not opened).

    Raises
    ------
    FileNotFoundError
        If ``folder`` or one of its three files is missing (naming it).
    ValueError
        If a file is unreadable or inconsistent (naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Windows folder {folder} does not exist.")
    for name in ("X.npy", "labels.npz", "meta.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing: not a folder written by "
                                    "save_windows.")
    _check_npy_size(folder / "X.npy")
    try:
        X = np.load(folder / "X.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder / 'X.npy'} is not a readable .npy file: {exc}") from exc
    if X.ndim != 3:
        raise ValueError(f"{folder / 'X.npy'} must hold (n, n_chans, n_times) windows, got "
                         f"shape {X.shape}.")
    labels = _read_labels(folder / "labels.npz", len(X))
    meta = _read_meta(folder / "meta.json")
    if not isinstance(meta["recordings"], list):
        raise ValueError(f"{folder / 'meta.json'}: 'recordings' must be a list of "
                         f"recordings, got {type(meta['recordings']).__name__}.")
    try:
        recordings = [SeizureRecording(r["path"], [tuple(s) for s in r["seizures"]],
                                       start=r["start"], subject=r["subject"],
                                       duration=r["duration"]) for r in meta["recordings"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{folder / 'meta.json'}: bad 'recordings' entry ({exc!r}); each "
                         "needs path, seizures, start, subject and duration.") from exc
    _check_content(str(folder), n_chans=X.shape[1], y=labels["y"],
                   seizure=labels["seizure"], recording=labels["recording"], start=labels["start"],
                   n_recordings=len(recordings), meta=meta)
    return SeizureWindows(
        X=X, y=labels["y"], seizure=labels["seizure"], recording=labels["recording"],
        start=labels["start"], subject=labels["subject"].astype(object),
        recordings=recordings, ch_names=list(meta["ch_names"]), sfreq=float(meta["sfreq"]),
        window_seconds=float(meta["window_seconds"]),
        sph_seconds=float(meta["sph_seconds"]), sop_seconds=float(meta["sop_seconds"]),
        postictal_seconds=float(meta["postictal_seconds"]),
        min_interictal_seconds=float(meta["min_interictal_seconds"]),
        l_freq=meta["l_freq"], h_freq=meta["h_freq"])
