"""A simulated cohort of patients that differ, in CHB-MIT's layout (``chbNN/`` folders).

Each patient is written by :func:`~neuroattn.data.simulate.seizure.
simulate_seizure_recordings` with its own focus channels, background and rhythm
amplitudes, preictal signature (coupling, power change or both), seizure durations,
sampling rate and CHB-MIT quirks (dummy ``-`` channels, a montage change, a duplicated
``T8-P8``), so that a model trained on some patients and tested on another faces
patient differences, as in leave-one-patient-out evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .seizure import CHBMIT_CHANNELS, SimulatedSubject, simulate_seizure_recordings

__all__ = ["COHORT_FOCI", "simulate_seizure_cohort"]

#: Focus channel sets, one per patient in turn: left temporal, right temporal, left
#: parasagittal, right parasagittal, frontal, posterior.
COHORT_FOCI = (
    ("FP1-F7", "F7-T7", "T7-P7", "P7-O1"),
    ("FP2-F8", "F8-T8", "T8-P8", "P8-O2"),
    ("FP1-F3", "F3-C3", "C3-P3", "P3-O1"),
    ("FP2-F4", "F4-C4", "C4-P4", "P4-O2"),
    ("FP1-F7", "FP1-F3", "FP2-F4", "FP2-F8", "FZ-CZ"),
    ("P7-O1", "P3-O1", "P4-O2", "P8-O2", "CZ-PZ"),
)


def simulate_seizure_cohort(path: str | Path, *, n_patients: int = 6, n_seizures: int = 3,
                            n_interictal_files: int = 5,
                            interictal_file_minutes: float = 30.0,
                            seizure_file_minutes: float = 32.0,
                            preictal_seconds: float = 1200.0, margin_seconds: float = 300.0,
                            interictal_gap_hours: float = 4.5, sfreq: float = 128.0,
                            quirks: bool = True, random_state: int | None = 0,
                            ) -> list[SimulatedSubject]:
    """Write ``n_patients`` simulated patients ``chb01/``, ``chb02/``, ... into ``path``.

    Patient ``k`` (0-based) gets the focus :data:`COHORT_FOCI` ``[k % 6]``; background
    amplitude, rhythm amplitude, preictal coupling and power gain and the range of
    seizure durations are drawn per patient; every third patient's change is one of
    power only (no coupling), every third from the second one of coupling only. With
    ``quirks``: the second patient is recorded at twice ``sfreq``, the third has dummy
    ``-`` channels in every second file, the fourth a montage change (channels reordered
    plus ``FT9-FT10``) halfway, the fifth a duplicated ``T8-P8``. All patients hold
    CHB-MIT's 18 bipolar channels (:data:`CHBMIT_CHANNELS`), the declared common montage.

    Parameters
    ----------
    path : str | Path
        Folder in which the patient folders are created.
    n_patients : int
        Patients, >= 1.
    n_seizures : int
        Seizures per patient (one per seizure file), >= 1.
    n_interictal_files : int
        Seizure-free files per patient (before a 4.5 h gap and the seizure files).
    interictal_file_minutes, seizure_file_minutes : float
        File lengths, minutes (see :func:`simulate_seizure_recordings`).
    preictal_seconds : float
        Time before each onset at which the planted change starts, seconds.
    margin_seconds, interictal_gap_hours : float
        As in :func:`simulate_seizure_recordings` (short files for tests need a
        short margin).
    sfreq : float
        Sampling rate, Hz (the second patient's is twice this with ``quirks``).
    quirks : bool
        Apply the CHB-MIT quirks above.
    random_state : int | None
        Seed; patient ``k`` uses the seed ``random_state + k`` (None: unseeded).

    Returns
    -------
    list of SimulatedSubject
        One per patient, in order (``summary_path`` is ``chbNN/chbNN-summary.txt``).

    Raises
    ------
    ValueError
        If ``n_patients`` or ``n_seizures`` is not an integer >= 1 (and as
        :func:`simulate_seizure_recordings` for the other parameters).
    """
    for name, value in (("n_patients", n_patients), ("n_seizures", n_seizures)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    rng = np.random.default_rng(random_state)
    out = []
    for k in range(int(n_patients)):
        kind = k % 3  # 0: power and coupling, 1: coupling only, 2: power only
        coupling = 0.0 if kind == 2 else float(rng.uniform(0.75, 0.95))
        gain = float(rng.uniform(0.6, 0.9)) if kind == 2 else (
            0.0 if kind == 1 else float(rng.uniform(0.2, 0.5)))
        shortest = float(rng.uniform(20.0, 40.0))
        quirk = dict(sfreq=sfreq * (2 if quirks and k == 1 else 1),
                     dummy_channels=3 if quirks and k == 2 else 0,
                     montage_changes=bool(quirks and k == 3),
                     duplicate_t8p8=bool(quirks and k == 4))
        out.append(simulate_seizure_recordings(
            path, subject=k + 1, n_seizures=n_seizures,
            n_interictal_files=n_interictal_files,
            interictal_file_minutes=interictal_file_minutes,
            seizure_file_minutes=seizure_file_minutes, preictal_seconds=preictal_seconds,
            margin_seconds=margin_seconds, interictal_gap_hours=interictal_gap_hours,
            seizure_seconds=(shortest, shortest + float(rng.uniform(10.0, 40.0))),
            ch_names=CHBMIT_CHANNELS, focus_channels=COHORT_FOCI[k % len(COHORT_FOCI)],
            noise_amplitude=float(rng.uniform(14.0, 28.0)),
            rhythm_amplitude=float(rng.uniform(6.0, 11.0)),
            preictal_power_gain=gain, preictal_coupling=coupling,
            seizure_amplitude=float(rng.uniform(80.0, 160.0)),
            random_state=None if random_state is None else int(random_state) + k,
            **quirk))
    return out
