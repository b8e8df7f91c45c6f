"""Simulated trials as an ``mne.EpochsArray``, shared by the trial simulators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["trials_to_epochs"]


def trials_to_epochs(X: np.ndarray, y: np.ndarray, class_names: Sequence[str],
                     ch_names: Sequence[str], sfreq: float, montage: Any):
    """``(n_trials, n_chans, n_times)`` trials in microvolts as EEG epochs.

    Parameters
    ----------
    X : numpy.ndarray
        Trials in microvolts (stored in volts, as MNE does).
    y : numpy.ndarray
        ``(n_trials,)`` class index of each trial into ``class_names``.
    class_names : sequence of str
        Event names; class ``k`` gets event id ``k + 1``.
    ch_names : sequence of str
        Channel names (EEG).
    sfreq : float
        Sampling rate of the trials in Hz.
    montage : mne.channels.DigMontage
        Electrode positions.

    Returns
    -------
    mne.EpochsArray
        One epoch a trial, starting at 0 s, events one second apart after each trial.
    """
    import mne

    n_trials, _, n_times = X.shape
    info = mne.create_info(list(ch_names), sfreq, ch_types="eeg")
    event_id = {str(name): k + 1 for k, name in enumerate(class_names)}
    events = np.column_stack([np.arange(n_trials) * (n_times + int(sfreq)),
                              np.zeros(n_trials, int), y + 1])
    epochs = mne.EpochsArray(X * 1e-6, info, events=events, event_id=event_id, tmin=0.0,
                             verbose="error")
    epochs.set_montage(montage, verbose="error")
    return epochs
