"""Why TRCA and MsetCCA sit at chance on Kalunga2016: its flicker is not phase-locked.

Per subject (1-8, 13/17/21 Hz, 2-s epochs from cue + 1 s): the inter-trial phase
coherence (ITC, mean over channels of |mean over a class's trials of the unit phasor|) at
the class's own stimulus frequency and at 1.5 Hz above it (no stimulus: the chance
level), and MOABB's CCA / TRCA / MsetCCA fitted directly (outside any evaluation, labels
"13", "17", "21") on run 1 and scored on the other runs. Template methods average the
training trials of a class; without a phase locked to the trial onset the average
cancels. Writes ``<out>/ssvep_phase_locking.json``.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/ssvep_phase_locking.py [out_dir]
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def itc(X: np.ndarray, freq: float, sfreq: float) -> float:
    """Mean over channels of the inter-trial phase coherence of ``X`` (trials, chans,
    times) at ``freq`` Hz."""
    t = np.arange(X.shape[-1]) / sfreq
    c = (X * np.exp(-2j * np.pi * freq * t)).sum(-1)
    return float(np.abs((c / np.abs(c)).mean(0)).mean())


def main() -> None:
    import mne
    from moabb.datasets import Kalunga2016
    from moabb.paradigms import SSVEP
    from moabb.pipelines.classification import SSVEP_CCA, SSVEP_TRCA, SSVEP_MsetCCA

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")
    mne.set_log_level("ERROR")
    paradigm = SSVEP(n_classes=3, tmin=-1.0, tmax=1.0)
    res: dict = {"itc_at_stimulus": {}, "itc_off_stimulus": {}, "run1_to_rest": {}}
    for s in range(1, 9):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            epochs, y, meta = paradigm.get_data(Kalunga2016(), subjects=[s],
                                                return_epochs=True)
        y, X = np.asarray(y), epochs.get_data()
        sfreq = epochs.info["sfreq"]
        res["itc_at_stimulus"][s] = float(np.mean([itc(X[y == c], float(c), sfreq)
                                                   for c in np.unique(y)]))
        res["itc_off_stimulus"][s] = float(np.mean([itc(X[y == c], float(c) + 1.5, sfreq)
                                                    for c in np.unique(y)]))
        runs = meta["run"].to_numpy()
        first = np.flatnonzero(runs == sorted(set(runs))[0])
        rest = np.flatnonzero(runs != sorted(set(runs))[0])
        for name, clf in {"CCA": SSVEP_CCA(n_harmonics=2), "TRCA": SSVEP_TRCA(n_fbands=3),
                          "MsetCCA": SSVEP_MsetCCA(n_filters=1)}.items():
            clf.fit(epochs[first], y[first])
            acc = float(np.mean(np.asarray(clf.predict(epochs[rest])) == y[rest]))
            res["run1_to_rest"].setdefault(name, {})[s] = acc
    res["means"] = {"itc_at_stimulus": float(np.mean(list(res["itc_at_stimulus"].values()))),
                    "itc_off_stimulus": float(np.mean(list(res["itc_off_stimulus"].values()))),
                    **{k: float(np.mean(list(v.values())))
                       for k, v in res["run1_to_rest"].items()}}
    res["command"] = "OMP_NUM_THREADS=1 nice -n 5 python " + " ".join(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ssvep_phase_locking.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res["means"], indent=1))


if __name__ == "__main__":
    main()
