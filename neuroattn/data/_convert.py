"""Turn user inputs (arrays, ``mne.Epochs``) into checked ``(n, n_chans, n_times)`` arrays.

An ``mne.Epochs`` is read on its data channels only: the types in
:data:`DATA_CH_TYPES` (EEG and intracranial EEG), without the channels listed in
``info["bads"]`` (:func:`select_channels`). A fitted estimator matches a new
``mne.Epochs`` to the channel names and sampling rate it was fitted on
(:func:`match_channels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DATA_CH_TYPES", "ChannelSelection", "signal_metadata", "as_signal_array",
           "check_signal_array", "select_channels", "match_channels"]

#: Channel types read from an ``mne.Epochs`` (converted to microvolts): scalp EEG,
#: stereo-EEG, ECoG and deep-brain (DBS) contacts. EOG, ECG, EMG, MEG, stim, misc and
#: every other type are left out.
DATA_CH_TYPES = ("eeg", "seeg", "ecog", "dbs")


def _is_epochs(X: Any) -> bool:
    try:
        from mne import BaseEpochs
    except ImportError:  # pragma: no cover - mne is a core dependency
        return False
    return isinstance(X, BaseEpochs)


def _check_not_continuous(X: Any) -> None:
    """Refuse MNE objects that are not epochs (a Raw or an Evoked), with a hint."""
    try:
        from mne import Evoked
        from mne.io import BaseRaw
    except ImportError:  # pragma: no cover - mne is a core dependency
        return
    if isinstance(X, BaseRaw):
        raise ValueError(f"X is a continuous recording ({type(X).__name__}); expected "
                         "mne.Epochs or an array (n_samples, n_chans, n_times). Cut it into "
                         "windows first, e.g. mne.make_fixed_length_epochs(raw, duration=2.0).")
    if isinstance(X, Evoked):
        raise ValueError("X is an mne.Evoked (an average); expected mne.Epochs or an array "
                         "(n_samples, n_chans, n_times) of single trials.")


@dataclass(frozen=True)
class ChannelSelection:
    """The channels of an ``mne.Epochs`` that are used, and those left out.

    Parameters
    ----------
    names : list of str
        Channels kept, in the order of the recording.
    bads : list of str
        Data channels left out because they are in ``info["bads"]``.
    other_types : dict of str to list of str
        Channels left out because of their type (type -> names), e.g. ``{"eog": [...]}``.
    """

    names: list[str]
    bads: list[str] = field(default_factory=list)
    other_types: dict[str, list[str]] = field(default_factory=dict)

    def dropped_message(self) -> str:
        """A sentence naming what was left out ('' when nothing was)."""
        parts = [f"{kind} {names}" for kind, names in self.other_types.items()]
        text = ""
        if parts:
            text += ("Channels not of type " + "/".join(DATA_CH_TYPES) + " are left out: "
                     + "; ".join(parts) + ". ")
        if self.bads:
            text += f"Channels marked bad in info['bads'] are left out: {self.bads}."
        return text.strip()


def select_channels(epochs: Any, ch_types: tuple[str, ...] = DATA_CH_TYPES,
                    ) -> ChannelSelection:
    """The data channels of ``epochs``: types ``ch_types``, not marked bad.

    Parameters
    ----------
    epochs : mne.Epochs
        The input.
    ch_types : tuple of str
        Channel types to keep (default :data:`DATA_CH_TYPES`).

    Returns
    -------
    ChannelSelection
        Kept names (recording order) and what was left out.

    Raises
    ------
    ValueError
        If no channel is left, naming the types and bad channels that were there.
    """
    bads = set(epochs.info["bads"])
    names, dropped_bads, other = [], [], {}
    for name, kind in zip(epochs.ch_names, epochs.get_channel_types()):
        if kind not in ch_types:
            other.setdefault(kind, []).append(name)
        elif name in bads:
            dropped_bads.append(name)
        else:
            names.append(name)
    selection = ChannelSelection(names, dropped_bads, other)
    if not names:
        found = {kind: v[:5] + ["..."] * (len(v) > 5) for kind, v in other.items()}
        raise ValueError(f"X (mne.Epochs) has no usable channel of type "
                         f"{'/'.join(ch_types)}: it holds {found or 'no other channel'} "
                         f"and data channels marked bad {dropped_bads}. Set the channel "
                         "types (epochs.set_channel_types), or interpolate the bad channels "
                         "and clear info['bads'].")
    return selection


def match_channels(epochs: Any, ch_names: list[str] | None, sfreq: float | None,
                   ch_types: tuple[str, ...] = DATA_CH_TYPES) -> tuple[list[str], list[str]]:
    """Pick the channels of ``epochs`` seen at fit, in the fitted order.

    Parameters
    ----------
    epochs : mne.Epochs
        Input at predict time.
    ch_names : list of str | None
        Channel names seen at fit (None when fit saw arrays: then the data channels
        of ``epochs`` are used as they are, and only their count can be checked).
    sfreq : float | None
        Sampling rate (Hz) seen at fit (None: not checked).
    ch_types : tuple of str
        Channel types used when ``ch_names`` is None.

    Returns
    -------
    names : list of str
        Channels to read, in the order of ``ch_names`` (reordered by name).
    extra : list of str
        Data channels of ``epochs`` not seen at fit (left out).

    Raises
    ------
    ValueError
        If the sampling rate differs from ``sfreq``, or a fitted channel is missing from
        ``epochs`` (absent, renamed, marked bad or of a non-data type).
    """
    rate = float(epochs.info["sfreq"])
    if sfreq is not None and not np.isclose(rate, float(sfreq), rtol=1e-6, atol=0):
        raise ValueError(f"X (mne.Epochs) is sampled at {rate:g} Hz, but the estimator was "
                         f"fitted at {float(sfreq):g} Hz; resample it first "
                         f"(epochs.resample({float(sfreq):g})).")
    if ch_names is None:
        return select_channels(epochs, ch_types).names, []
    available = set(epochs.ch_names) - set(epochs.info["bads"])
    missing = [name for name in ch_names if name not in available]
    if missing:
        bad = [name for name in missing if name in epochs.info["bads"]]
        try:
            unexpected = [n for n in select_channels(epochs, ch_types).names
                          if n not in set(ch_names)]
        except ValueError:
            unexpected = []
        raise ValueError(
            f"X (mne.Epochs) does not have the channels the estimator was fitted on: "
            f"missing {missing}" + (f" (marked bad: {bad})" if bad else "")
            + f", unexpected {unexpected}. Rename, interpolate or pick channels so that "
            f"X has the fitted ch_names_ {list(ch_names)}.")
    fitted = set(ch_names)
    extra = [n for n, kind in zip(epochs.ch_names, epochs.get_channel_types())
             if kind in ch_types and n not in fitted and n in available]
    return list(ch_names), extra


def _epochs_data(epochs: Any, names: list[str]) -> np.ndarray:
    types = set(epochs.get_channel_types(picks=names))
    units = {kind: "uV" for kind in DATA_CH_TYPES if kind in types}
    return epochs.get_data(picks=names, units=units or None)


def signal_metadata(X: Any, picks: list[str] | None = None) -> dict[str, Any]:
    """What an input says about its recording: ``sfreq`` (Hz) and ``chs_info``.

    Parameters
    ----------
    X : mne.Epochs | array-like
        An ``mne.Epochs`` yields its sampling rate and the descriptions of the channels
        :func:`as_signal_array` reads (data channels, bads left out, see
        :func:`select_channels`); arrays yield ``{"sfreq": None, "chs_info": None}``.
    picks : list of str | None
        Channel names to describe instead of the default selection.

    Returns
    -------
    dict
        ``{"sfreq": float | None, "chs_info": list[dict] | None}``.
    """
    if _is_epochs(X):
        names = select_channels(X).names if picks is None else list(picks)
        by_name = {ch["ch_name"]: ch for ch in X.info["chs"]}
        chs = [{"ch_name": name, "kind": int(by_name[name]["kind"]),
                "loc": np.asarray(by_name[name]["loc"], dtype=float).tolist()}
               for name in names]
        return {"sfreq": float(X.info["sfreq"]), "chs_info": chs}
    return {"sfreq": None, "chs_info": None}


def as_signal_array(X: Any, picks: list[str] | None = None) -> Any:
    """Return the data of ``X``, ``mne.Epochs`` as a numpy array in microvolts.

    Parameters
    ----------
    X : mne.Epochs | array-like
        Epochs are read with ``get_data(units="uV")`` on their data channels
        (:data:`DATA_CH_TYPES`, bads left out; see :func:`select_channels`), giving
        ``(n_epochs, n_chans, n_times)``. Anything else is returned unchanged.
    picks : list of str | None
        Channel names (in this order) to read instead of the default selection.

    Returns
    -------
    numpy.ndarray | array-like

    Raises
    ------
    ValueError
        If ``X`` is an ``mne.io.Raw`` or ``mne.Evoked`` (not single trials), or an
        ``mne.Epochs`` without any data channel.
    """
    _check_not_continuous(X)
    if _is_epochs(X):
        names = select_channels(X).names if picks is None else list(picks)
        return _epochs_data(X, names)
    return X


def check_signal_array(X: np.ndarray, *, check_flat: bool = True) -> np.ndarray:
    """Check a 3-D float signal batch.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_samples, n_chans, n_times)``, finite.
    check_flat : bool
        If True, reject channels that are constant over every sample and time point
        (a dead electrode or an all-zero region gives no information and breaks
        normalisation).

    Returns
    -------
    numpy.ndarray
        ``X`` as contiguous float32.

    Raises
    ------
    ValueError
        If ``X`` is not 3-D, is empty, holds NaN/inf, or has a flat channel.
    """
    if X.ndim != 3:
        raise ValueError(f"Expected signals of shape (n_samples, n_chans, n_times), got "
                         f"an array of shape {X.shape}.")
    if min(X.shape) == 0:
        raise ValueError(f"Found array with 0 sample(s) or an empty dimension: shape {X.shape}.")
    finite = np.isfinite(X)
    if not finite.all():
        samples, channels = np.nonzero(~finite)[:2]
        raise ValueError(
            f"Input X contains NaN or infinity (first in sample {int(samples.min())}): "
            f"{int(finite.size - np.count_nonzero(finite))} non-finite value(s) in channels "
            f"{np.unique(channels)[:10].tolist()}. Clean, interpolate or drop those samples "
            "first (values beyond the float32 range count as infinite).")
    if check_flat and X.shape[0] * X.shape[2] > 1:
        flat = np.flatnonzero(X.reshape(X.shape[0], X.shape[1], -1).std(axis=(0, 2)) == 0)
        if flat.size:
            raise ValueError(f"Channels {flat[:10].tolist()} are constant (zero variance) in "
                             "every sample; drop or interpolate them before fitting.")
    return np.ascontiguousarray(X, dtype=np.float32)
