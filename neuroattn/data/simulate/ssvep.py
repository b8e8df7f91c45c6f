"""Simulated SSVEP trials: steady-state responses at planted frequencies and harmonics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._montage import standard_montage
from ._epochs import trials_to_epochs
from ._noise import pink_noise

__all__ = ["SSVEP_CHANNELS", "simulate_ssvep"]

#: Kalunga2016's 8 occipital electrodes.
SSVEP_CHANNELS = ("Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4")


def simulate_ssvep(n_trials: int = 60, *, stim_freqs: Sequence[float] = (13.0, 17.0, 21.0),
                   n_harmonics: int = 3, phase: str = "random",
                   ch_names: Sequence[str] = SSVEP_CHANNELS, sfreq: float = 256.0,
                   trial_seconds: float = 2.0, amplitude: float = 2.0,
                   noise_amplitude: float = 4.0, spread_m: float = 0.04,
                   return_epochs: bool = True, random_state: int | None = None):
    """Simulate SSVEP trials: each class a sinusoid at its stimulus frequency and harmonics.

    A source under Oz carries, in a trial of class ``k``, the sum of sinusoids at
    ``h * stim_freqs[k]`` Hz (``h = 1..n_harmonics``, amplitude ``amplitude / h``). It
    reaches the electrodes with a Gaussian fall-off of distance on the standard 10-20
    montage (width ``spread_m``; an occipital pattern, largest at Oz), on top of
    independent pink (1/f) background noise per electrode.

    ``phase="random"``: each trial's response starts at a random phase (a continuous
    flicker, as in Kalunga2016); ``"locked"``: every trial of a class starts at the same
    phase (``0.35 * pi * k``; stimuli locked to the trial onset, as in the Tsinghua
    benchmark and BETA).

    Parameters
    ----------
    n_trials : int
        Number of trials, split evenly (and shuffled) across the classes.
    stim_freqs : sequence of float
        Stimulus frequencies in Hz, one class each, all different; every harmonic must
        lie below Nyquist (``sfreq / 2``).
    n_harmonics : int
        Harmonics per response (1: the fundamental only).
    phase : {"random", "locked"}
        Phase of each trial's response at its first sample (see above).
    ch_names : sequence of str
        Electrodes of the standard 10-20 montage; must include Oz. Defaults to
        Kalunga2016's 8 occipital channels.
    sfreq : float
        Sampling frequency, Hz.
    trial_seconds : float
        Trial length in seconds; at least one period of the lowest frequency.
    amplitude : float
        Fundamental amplitude at the source (Oz), microvolts.
    noise_amplitude : float
        Standard deviation of the background noise, microvolts.
    spread_m : float
        Spatial spread of the response on the scalp, metres.
    return_epochs : bool
        True: an ``mne.EpochsArray`` (volts, montage set, ``event_id`` maps the
        frequencies as strings, ``"13.0"``, to 1, 2, ...); False: ``(X, y)`` as MOABB
        returns arrays, ``X`` ``(n_trials, n_chans, n_times)`` float32 microvolts and
        ``y`` the frequencies as strings.
    random_state : int | None
        Seed of the phases, spatial patterns and noise (same seed, same trials).

    Returns
    -------
    mne.EpochsArray | tuple of (numpy.ndarray, numpy.ndarray)

    Raises
    ------
    ValueError
        If there are fewer than 2 or repeated frequencies, a harmonic at or above
        Nyquist, a trial shorter than one period of the lowest frequency, an unknown
        ``phase``, unknown channels or no Oz, fewer trials than classes, or an amplitude
        out of range.
    """

    freqs = np.asarray([float(f) for f in stim_freqs])
    if freqs.size < 2 or np.unique(freqs).size != freqs.size or np.any(freqs <= 0):
        raise ValueError(f"stim_freqs must hold at least 2 different positive "
                         f"frequencies, got {list(stim_freqs)}.")
    if isinstance(n_harmonics, bool) or int(n_harmonics) != n_harmonics or n_harmonics < 1:
        raise ValueError(f"n_harmonics must be a positive integer, got {n_harmonics!r}.")
    if sfreq <= 0 or n_harmonics * freqs.max() >= sfreq / 2:
        raise ValueError(f"stim_freqs: harmonic {n_harmonics} of {freqs.max():g} Hz "
                         f"({n_harmonics * freqs.max():g} Hz) must lie below Nyquist "
                         f"(sfreq / 2 = {sfreq / 2:g} Hz).")
    if trial_seconds * freqs.min() < 1:
        raise ValueError(f"trial_seconds={trial_seconds} is shorter than one period of the "
                         f"lowest frequency ({1 / freqs.min():.3f} s at {freqs.min():g} Hz).")
    if phase not in ("random", "locked"):
        raise ValueError(f"phase must be 'random' or 'locked', got {phase!r}.")
    if n_trials < freqs.size:
        raise ValueError(f"n_trials ({n_trials}) must be at least the number of classes "
                         f"({freqs.size}).")
    if amplitude < 0 or noise_amplitude <= 0 or spread_m <= 0:
        raise ValueError("amplitude must be >= 0 and noise_amplitude, spread_m > 0; got "
                         f"{amplitude}, {noise_amplitude}, {spread_m}.")
    montage = standard_montage()
    positions = montage.get_positions()["ch_pos"]
    ch_names = list(ch_names)
    unknown = [ch for ch in ch_names if ch not in positions]
    if unknown:
        raise ValueError(f"ch_names: {unknown} are not in the standard 10-20 montage.")
    if "Oz" not in ch_names:
        raise ValueError(f"ch_names must include Oz (the source site), got {ch_names}.")

    rng = np.random.default_rng(random_state)
    n_classes = freqs.size
    y = rng.permutation(np.resize(np.arange(n_classes), n_trials))
    n_times = int(round(trial_seconds * sfreq))
    t = np.arange(n_times) / sfreq
    elec = np.array([positions[ch] for ch in ch_names])
    dist = np.linalg.norm(elec - positions["Oz"], axis=1)
    pattern = np.exp(-(dist ** 2) / (2 * spread_m ** 2))  # (n_chans,), 1 at Oz
    if phase == "random":
        phases = rng.uniform(0, 2 * np.pi, n_trials)
    else:
        phases = 0.35 * np.pi * y
    response = np.zeros((n_trials, n_times))
    for h in range(1, int(n_harmonics) + 1):
        response += (amplitude / h) * np.sin(h * (2 * np.pi * freqs[y][:, None] * t
                                                  + phases[:, None]))
    X = pattern[None, :, None] * response[:, None, :]
    X += noise_amplitude * pink_noise(X.shape, rng)
    names = np.array([str(f) for f in freqs])
    if not return_epochs:
        return X.astype(np.float32), names[y]
    return trials_to_epochs(X, y, names, ch_names, sfreq, montage)
