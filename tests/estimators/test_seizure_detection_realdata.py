"""STAN's encoder as a seizure detector on real recordings (Dog_1 iEEG, Bonn), against the
band-power baseline. Small model and few epochs: a check that it learns, not a benchmark
(``benchmarks/bench_seizure.py`` reports the figures)."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.data.ieeg import load_bonn, load_seizure_detection_clips
from neuroattn.estimators.seizure import SeizureForecaster, band_power_baseline
from neuroattn.metrics.seizure import window_auc

TINY = dict(max_epochs=8, lr=3e-3, lr_scheduler="cosine", batch_size=16, device="cpu",
            random_state=0,
            adversarial_weight=0.0, model__embed_dim=16, model__n_heads=2, model__depth=1,
            model__drop_path_prob=0.0)


def _aucs(X, y, train, test, sfreq, patch_size):
    est = SeizureForecaster(**TINY, model__patch_size=patch_size).fit(X[train], y[train])
    base = band_power_baseline(sfreq, random_state=0).fit(X[train], y[train])
    return (window_auc(y[test], est.preictal_proba(X[test])),
            window_auc(y[test], base.predict_proba(X[test])[:, 1]))


@pytest.mark.realdata
def test_dog_1_held_out_seizures(shared_data):
    clips = load_seizure_detection_clips(shared_data / "seizure_detection_ieeg" / "Dog_1")
    inter = np.flatnonzero(clips.y == 0)
    test = np.concatenate([np.flatnonzero(clips.group >= 3), inter[inter.size // 2:]])
    train = np.setdiff1d(np.arange(len(clips.y)), test)
    stan, base = _aucs(clips.X, clips.y, train, test, clips.sfreq, patch_size=40)
    assert stan > 0.8 and base > 0.8


@pytest.mark.realdata
def test_bonn_ictal_vs_rest(shared_data):
    clips = load_bonn(shared_data / "bonn_epilepsy")
    X = clips.X[..., :2048]
    idx = np.arange(len(clips.y))
    stan, base = _aucs(X, clips.y, idx[idx % 2 == 0], idx[idx % 2 == 1], clips.sfreq,
                       patch_size=128)
    assert stan > 0.8 and base > 0.8
