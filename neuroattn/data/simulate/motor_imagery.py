"""Simulated motor-imagery EEG with a planted, known lateralised desynchronisation."""

from __future__ import annotations

import numpy as np

from .._montage import standard_montage
from ._epochs import trials_to_epochs
from ._noise import pink_noise

__all__ = ["MI_CHANNELS", "MI_CLASSES", "simulate_motor_imagery"]

#: The 22 electrodes of BNCI2014_001 (BCI Competition IV 2a), standard 10-20 names.
MI_CHANNELS = ("Fz", "FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4",
               "C6", "CP3", "CP1", "CPz", "CP2", "CP4", "P1", "Pz", "P2", "POz")

#: Class name -> electrode over the cortex that desynchronises during that imagery.
MI_CLASSES = {"left_hand": "C4", "right_hand": "C3", "feet": "Cz"}


def simulate_motor_imagery(n_trials: int = 100, *, n_classes: int = 2,
                           ch_names: tuple[str, ...] | list[str] = MI_CHANNELS,
                           sfreq: float = 250.0, trial_seconds: float = 4.0,
                           erd_strength: float = 0.3, rhythm_amplitude: float = 6.0,
                           noise_amplitude: float = 4.0, spread_m: float = 0.03,
                           return_epochs: bool = True, random_state: int | None = None):
    """Simulate motor-imagery trials with a lateralised 8-30 Hz desynchronisation.

    Three sensorimotor sources (under C3, C4 and Cz on the standard 10-20 montage)
    carry mu (8-13 Hz) and beta (15-30 Hz) rhythms with random phase and slowly varying
    amplitude. Imagining a movement attenuates (desynchronises) the source over the
    opposite motor cortex by ``erd_strength``: left hand -> C4, right hand -> C3, feet
    -> Cz. Sources reach the electrodes with a Gaussian fall-off of distance (width
    ``spread_m``), on top of independent pink (1/f) background noise per electrode.

    Parameters
    ----------
    n_trials : int
        Number of trials, split evenly (and shuffled) across classes.
    n_classes : {2, 3}
        2: left vs right hand; 3 adds feet.
    ch_names : sequence of str
        Electrodes, named as in MNE's ``standard_1020`` montage; must include C3, C4
        and Cz. Defaults to the 22 channels of BNCI2014_001.
    sfreq : float
        Sampling frequency of the simulated epochs, Hz.
    trial_seconds : float
        Trial length in seconds.
    erd_strength : float
        Fractional amplitude drop of the desynchronised source, in [0, 1).
    rhythm_amplitude : float
        Amplitude of each sensorimotor rhythm at its source, in microvolts.
    noise_amplitude : float
        Standard deviation of the background pink noise, in microvolts.
    spread_m : float
        Spatial spread of the sources on the scalp, in metres.
    return_epochs : bool
        If True return an ``mne.EpochsArray`` (data stored in volts as MNE does,
        montage set, ``event_id`` naming the classes); otherwise ``(X, y)`` with ``X``
        ``(n_trials, n_chans, n_times)`` float32 in microvolts and ``y`` class names.
    random_state : int | None
        Seed; the same seed gives the same data.

    Returns
    -------
    mne.EpochsArray | tuple of (numpy.ndarray, numpy.ndarray)

    Raises
    ------
    ValueError
        On unknown channel names, missing C3/C4/Cz, ``n_classes`` not in {2, 3},
        fewer trials than classes, or out-of-range amplitudes.
    """

    if n_classes not in (2, 3):
        raise ValueError(f"n_classes must be 2 or 3, got {n_classes}.")
    if n_trials < n_classes:
        raise ValueError(f"n_trials ({n_trials}) must be at least n_classes ({n_classes}).")
    if not 0 <= erd_strength < 1:
        raise ValueError(f"erd_strength must be in [0, 1), got {erd_strength}.")
    if rhythm_amplitude < 0 or noise_amplitude <= 0 or sfreq <= 0 or trial_seconds <= 0:
        raise ValueError("rhythm_amplitude must be >= 0 and noise_amplitude, sfreq and "
                         "trial_seconds > 0.")
    montage = standard_montage()
    positions = montage.get_positions()["ch_pos"]
    ch_names = list(ch_names)
    unknown = [ch for ch in ch_names if ch not in positions]
    if unknown:
        raise ValueError(f"Channels {unknown} are not in the standard_1020 montage.")
    missing = [ch for ch in ("C3", "C4", "Cz") if ch not in ch_names]
    if missing:
        raise ValueError(f"ch_names must include the sensorimotor sites; missing {missing}.")

    rng = np.random.default_rng(random_state)
    classes = list(MI_CLASSES)[:n_classes]
    y = rng.permutation(np.resize(np.arange(n_classes), n_trials))
    n_times = int(round(trial_seconds * sfreq))
    t = np.arange(n_times) / sfreq

    sources = list(MI_CLASSES.values())
    elec = np.array([positions[ch] for ch in ch_names])
    src = np.array([positions[ch] for ch in sources])
    dist = np.linalg.norm(elec[:, None] - src[None], axis=-1)
    mixing = np.exp(-(dist ** 2) / (2 * spread_m ** 2))  # (n_chans, n_sources)

    X = np.empty((n_trials, len(ch_names), n_times))
    for i in range(n_trials):
        rhythms = np.zeros((len(sources), n_times))
        for band, weight in (((8.0, 13.0), 1.0), ((15.0, 30.0), 0.5)):
            freq = rng.uniform(*band, size=(len(sources), 1))
            phase = rng.uniform(0, 2 * np.pi, size=(len(sources), 1))
            envelope = 1 + 0.2 * pink_noise((len(sources), n_times), rng, exponent=2.0)
            rhythms += weight * envelope * np.sin(2 * np.pi * freq * t + phase)
        gain = np.ones(len(sources))
        gain[sources.index(MI_CLASSES[classes[y[i]]])] -= erd_strength
        X[i] = rhythm_amplitude * mixing @ (gain[:, None] * rhythms)
    X += noise_amplitude * pink_noise(X.shape, rng)
    labels = np.array(classes)[y]
    if not return_epochs:
        return X.astype(np.float32), labels

    return trials_to_epochs(X, y, classes, ch_names, sfreq, montage)
