"""``NeuroClassifier`` and ``NeuroRegressor``: any neuroattn model as a scikit-learn estimator."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_estimator_doc
from ._base import TRAINING_CONSTRAINTS, NeuroEstimatorMixin
from ._nets import _Classifier, _Regressor
from ._params import encode_class_targets

__all__ = ["NeuroClassifier", "NeuroRegressor"]

class _NeuralEstimator(NeuroEstimatorMixin, BaseEstimator):
    """The constructor shared by :class:`NeuroClassifier` and :class:`NeuroRegressor`."""

    _parameter_constraints = {**TRAINING_CONSTRAINTS, "model": [str, type],
                              "augmentation": [list, None],
                              "label_smoothing": [Interval(Real, 0, 1, closed="left")],
                              "weight_averaging": [Interval(Integral, 0, None,
                                                            closed="left")]}

    def __init__(self, model: str | type = "eeg_transformer", *, max_epochs: int = 50,
                 lr: float = 1e-3, batch_size: int = 64, weight_decay: float = 1e-2,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 mixed_precision: str = "no", gradient_accumulation_steps: int = 1,
                 compile: bool = False, num_workers: int = 0, pin_memory: bool | None = None,
                 persistent_workers: bool = False,
                 checkpoint_dir: str | Path | None = None,
                 augmentation: list | None = None, label_smoothing: float = 0.0,
                 weight_averaging: int = 0,
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self._init_params(locals())


@fill_estimator_doc
class NeuroClassifier(ClassifierMixin, _NeuralEstimator):
    """Train a neuroattn model as a scikit-learn classifier (skorch loop).

    ``X`` is ``(n_samples, n_chans, n_times)`` float (EEG in microvolts), a 2-D
    ``(n_samples, n_times)`` array read as one channel, or an ``mne.Epochs`` (converted
    to microvolts; its sampling rate and channel info reach the model). Of an
    ``mne.Epochs`` only the data channels are used: types ``eeg``, ``seeg``, ``ecog``
    and ``dbs``, without those in ``info["bads"]`` (a warning names what is left out).
    At prediction an ``mne.Epochs`` is matched to ``ch_names_`` by name (reordered if
    needed) and must have the fitted ``sfreq_``; after a fit on arrays only its channel
    count is checked. ``y`` holds class labels of any type (strings work).

    Parameters
    ----------
    %(training_params)s

    Attributes
    ----------
    classes_ : numpy.ndarray
        Class labels, sorted.
    %(fitted_net_attrs)s
    %(fitted_signal_attrs)s

    Examples
    --------
    >>> from neuroattn import NeuroClassifier
    >>> from neuroattn.data.simulate import simulate_motor_imagery
    >>> epochs = simulate_motor_imagery(n_trials=40, random_state=0)
    >>> clf = NeuroClassifier(max_epochs=5, random_state=0).fit(epochs, epochs.events[:, 2])
    >>> clf.predict(epochs[:3]).shape
    (3,)
    """

    _net_class = _Classifier
    _criterion = torch.nn.CrossEntropyLoss
    _fitted_required = (*_NeuralEstimator._fitted_required, "classes_")

    def _encode_targets(self, y: Any, n_samples: int) -> np.ndarray:
        return encode_class_targets(self, y, n_samples)

    def fit(self, X: Any, y: Any = None) -> NeuroClassifier:
        """Train on ``X`` ``(n_samples, n_chans, n_times)`` and labels ``y`` ``(n_samples,)``.

        ``X`` may also be a ``numpy.memmap`` or a ``torch.utils.data.Dataset`` yielding
        ``(x, y)`` pairs (then ``y`` is None): both are streamed, never loaded whole.

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(n_samples, n_classes)``, or their difference ``(n_samples,)`` if binary."""
        logits = self._forward(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` in the order of ``classes_``."""
        logits = torch.from_numpy(self._forward(X))
        return logits.softmax(dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label per sample, ``(n_samples,)``."""
        labels = self._forward(X).argmax(axis=1)
        return self.classes_[labels]


@fill_estimator_doc
class NeuroRegressor(RegressorMixin, _NeuralEstimator):
    """Train a neuroattn model as a scikit-learn regressor (MSE loss, skorch loop).

    ``X`` as in :class:`NeuroClassifier`; ``y`` is ``(n_samples,)`` or
    ``(n_samples, n_targets)``. Targets are standardised for training and predictions
    mapped back to their units.

    Parameters
    ----------
    %(training_params)s

    Attributes
    ----------
    y_mean_, y_scale_ : numpy.ndarray
        Per-target mean and standard deviation used to standardise ``y``.
    %(fitted_net_attrs)s
    %(fitted_signal_attrs)s
    """

    _net_class = _Regressor
    _criterion = torch.nn.MSELoss
    _fitted_required = (*_NeuralEstimator._fitted_required, "y_mean_", "y_scale_", "y_1d_")

    def _encode_targets(self, y: Any, n_samples: int) -> np.ndarray:
        if y is None:
            raise ValueError("NeuroRegressor requires y to be passed, but the target y is None.")
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"Unknown label type: regression targets must be numeric, "
                             f"got dtype {y.dtype}.")
        if y.ndim not in (1, 2) or y.shape[0] != n_samples:
            raise ValueError(f"y must be (n_samples,) or (n_samples, n_targets) with "
                             f"n_samples={n_samples}, got shape {y.shape}.")
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        y2 = y.reshape(n_samples, -1).astype(np.float64)
        self.y_mean_ = y2.mean(axis=0)
        self.y_scale_ = np.where(y2.std(axis=0) > 0, y2.std(axis=0), 1.0)
        self.n_outputs_ = y2.shape[1]
        self.y_1d_ = y.ndim == 1
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)

    def fit(self, X: Any, y: Any = None) -> NeuroRegressor:
        """Train on ``X`` ``(n_samples, n_chans, n_times)`` and targets ``y``.

        Streamed inputs work as in :meth:`NeuroClassifier.fit` (a memmap, or a Dataset
        of ``(x, target)`` pairs with ``y=None``).

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the units of ``y``: ``(n_samples,)`` or ``(n_samples, n_targets)``."""
        check_is_fitted(self, "net_")
        out = self._forward(X) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self.y_1d_ else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
