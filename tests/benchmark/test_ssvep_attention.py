"""FB-TSprior+CWT: the shipped SSVEP attention pipeline (electrode-x-band attention before
a covariance, readout started at filter-bank tangent space + LR) loads, declares the
filter-bank paradigm and fits on MOABB-shaped filter-bank arrays."""

import numpy as np
from moabb.pipelines.features import ExtendedSSVEPSignal

from neuroattn.benchmark import default_pipelines, load_pipelines, pipeline_paradigms
from neuroattn.estimators.riemann import TangentPriorClassifier

NAME = "FB-TSprior+CWT"


def _filter_bank_trials(n_per_class=8, n_chans=4, n_times=96, n_bands=3, seed=0):
    """(n_trials, n_chans, n_times, n_bands), as FilterBankSSVEP gives: class k has a
    stronger, spatially coherent oscillation in band k."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / 128.0
    X, y = [], []
    for k, freq in enumerate((13.0, 17.0, 21.0)[:n_bands]):
        for _ in range(n_per_class):
            trial = rng.normal(size=(n_chans, n_times, n_bands))
            source = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            trial[:, :, k] += 3.0 * np.linspace(0.5, 1.5, n_chans)[:, None] * source
            X.append(trial)
            y.append(str(int(freq)))
    return np.asarray(X), np.asarray(y)


def test_fb_tsprior_cwt_loads_and_fits_on_filter_bank_arrays():
    assert pipeline_paradigms()[NAME] == ["FilterBankSSVEP"]
    assert NAME in default_pipelines("ssvep")
    pipe = load_pipelines(names=[NAME])[NAME]
    assert isinstance(pipe.steps[0][1], ExtendedSSVEPSignal)
    clf = pipe.steps[-1][1]
    assert isinstance(clf, TangentPriorClassifier) and clf.C == 1.0 and clf.prior
    key = next(k for k in pipe.get_params() if k.endswith("estimator__max_epochs"))
    assert pipe.get_params()[key] == 30  # the frozen recipe
    pipe.set_params(**{key: 2, key.replace("max_epochs", "device"): "cpu"})
    X, y = _filter_bank_trials()
    pipe.fit(X, y)
    fitted = pipe.steps[-1][1]
    n_feat = 4 * 3  # electrodes x bands, stacked as channels
    assert fitted.reference_.shape == (n_feat, n_feat)
    assert fitted.prior_.coef_.shape == (3, n_feat * (n_feat + 1) // 2)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert set(fitted.classes_) == {"13", "17", "21"}
    # started at the training fold's tangent space + LR: separable trials are learnt
    assert (pipe.predict(X) == y).mean() > 0.9
    weights = fitted.estimator_.get_attention_weights(X=ExtendedSSVEPSignal().transform(
        X[:2]).astype(np.float32))
    assert weights["gate"].shape == (2, n_feat)
