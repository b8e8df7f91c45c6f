"""Filter-bank tangent-space tokens and the attention model over them."""

import numpy as np
import pytest
from sklearn.base import clone

from neuroattn.estimators.riemann import FilterBankTangentSpace, tangent_attention_pipeline

SFREQ = 128.0


def _trials(n=60, n_chans=4, n_times=256, seed=0):
    """Class 1 has a 10 Hz rhythm on channel 0 only (a planted band-power effect)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_chans, n_times))
    y = np.arange(n) % 2
    t = np.arange(n_times) / SFREQ
    X[y == 1, 0] += 2 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (y.sum(), 1)))
    return X, y


def test_tokens_shape_and_training_mean_at_origin():
    X, y = _trials()
    fb = FilterBankTangentSpace(SFREQ, bands=((8, 12), (16, 24)))
    tokens = fb.fit_transform(X)
    assert tokens.shape == (60, 2, 4 * 5 // 2) and tokens.dtype == np.float32
    # the training trials are centred at the Riemannian mean: their tangent vectors
    # average to about zero
    assert np.abs(tokens.mean(0)).max() < 0.2 * np.abs(tokens).mean()
    # the planted 10 Hz effect shows in the 8-12 Hz token, not in 16-24 Hz
    sep = [abs(tokens[y == 1, b].mean(0) - tokens[y == 0, b].mean(0)).max() for b in (0, 1)]
    assert sep[0] > 3 * sep[1]


@pytest.mark.parametrize("kwargs, X, match", [
    (dict(sfreq=SFREQ, bands=((8, 70),)), None, "Nyquist"),
    (dict(sfreq=SFREQ, bands=((12, 8),)), None, "low < high"),
    (dict(sfreq=0.0), None, "sfreq"),
    (dict(sfreq=SFREQ), np.zeros((4, 256)), "n_trials, n_chans, n_times"),
    (dict(sfreq=SFREQ), np.full((4, 2, 256), np.nan), "NaN"),
])
def test_bad_input_refused(kwargs, X, match):
    X = _trials(8)[0] if X is None else X
    with pytest.raises(ValueError, match=match):
        FilterBankTangentSpace(**kwargs).fit(X)


def test_transform_refuses_other_channel_count():
    X, _ = _trials(8)
    fb = FilterBankTangentSpace(SFREQ, bands=((8, 12),)).fit(X)
    with pytest.raises(ValueError, match="3 channels"):
        fb.transform(X[:, :3])


def test_attention_pipeline_learns_the_planted_effect_and_clones():
    X, y = _trials(80, seed=1)
    pipe = tangent_attention_pipeline(SFREQ, bands=((8, 12), (16, 24)), max_epochs=40,
                                      random_state=0, device="cpu")
    pipe.fit(X[:60], y[:60])
    assert pipe.score(X[60:], y[60:]) >= 0.85
    weights = pipe[-1].module_.band_weights_
    assert weights.shape[1] == 2
    assert clone(pipe).get_params()["neuroclassifier__model"] == "tangent_attention"
