"""Turn user inputs (arrays, ``mne.Epochs``) into checked ``(n, n_chans, n_times)`` arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["signal_metadata", "as_signal_array", "check_signal_array"]


def _is_epochs(X: Any) -> bool:
    try:
        from mne import BaseEpochs
    except ImportError:  # pragma: no cover - mne is a core dependency
        return False
    return isinstance(X, BaseEpochs)


def signal_metadata(X: Any) -> dict[str, Any]:
    """What an input says about its recording: ``sfreq`` (Hz) and ``chs_info``.

    Parameters
    ----------
    X : mne.Epochs | array-like
        An ``mne.Epochs`` yields its sampling rate and channel descriptions; arrays
        yield ``{"sfreq": None, "chs_info": None}``.

    Returns
    -------
    dict
        ``{"sfreq": float | None, "chs_info": list[dict] | None}``.
    """
    if _is_epochs(X):
        chs = [{"ch_name": ch["ch_name"], "kind": int(ch["kind"]),
                "loc": np.asarray(ch["loc"], dtype=float).tolist()} for ch in X.info["chs"]]
        return {"sfreq": float(X.info["sfreq"]), "chs_info": chs}
    return {"sfreq": None, "chs_info": None}


def as_signal_array(X: Any) -> np.ndarray:
    """Return the data of ``X`` as a numpy array, ``mne.Epochs`` in microvolts.

    Parameters
    ----------
    X : mne.Epochs | array-like
        Epochs are read with ``get_data(units="uV")`` for EEG channels (other channel
        types keep their SI units), giving ``(n_epochs, n_chans, n_times)``.

    Returns
    -------
    numpy.ndarray
    """
    if _is_epochs(X):
        units = {ch_type: "uV" for ch_type in ("eeg", "seeg", "ecog", "dbs")
                 if ch_type in X.get_channel_types()}
        return X.get_data(units=units or None)
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
    if not np.isfinite(X).all():
        bad = np.unique(np.nonzero(~np.isfinite(X))[1])
        raise ValueError(f"Input X contains NaN or infinity (channels {bad[:10].tolist()}).")
    if check_flat and X.shape[0] * X.shape[2] > 1:
        flat = np.flatnonzero(X.reshape(X.shape[0], X.shape[1], -1).std(axis=(0, 2)) == 0)
        if flat.size:
            raise ValueError(f"Channels {flat[:10].tolist()} are constant (zero variance) in "
                             "every sample; drop or interpolate them before fitting.")
    return np.ascontiguousarray(X, dtype=np.float32)
