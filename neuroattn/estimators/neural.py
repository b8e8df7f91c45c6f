"""``NeuroClassifier`` and ``NeuroRegressor``: any neuroattn model as a scikit-learn estimator."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import NeuroEstimatorMixin, _Classifier, _Regressor

__all__ = ["NeuroClassifier", "NeuroRegressor"]

_COMMON_PARAMS = """
    model : str | type, default="eeg_transformer"
        A registry name (see :func:`neuroattn.list_models`) or a model class taking
        braindecode's signal arguments (a braindecode model class works too).
    max_epochs : int, default=50
        Training epochs.
    lr : float, default=1e-3
        AdamW learning rate.
    batch_size : int, default=64
        Mini-batch size.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    lr_scheduler : {"cosine", "warmup_cosine", None}, default="cosine"
        Cosine annealing over ``max_epochs`` (per epoch); ``"warmup_cosine"``: linear
        warm-up over the first 10% of steps then cosine decay per step
        (:class:`~neuroattn.estimators.WarmupCosineLR`); None: a constant rate.
    validation_fraction : float | None, default=None
        Fraction of the training data held out (stratified for classifiers) to report
        ``valid_loss``. None trains on everything: there is no silent hold-out.
    early_stopping : bool, default=False
        Stop when ``valid_loss`` has not improved for ``patience`` epochs and restore
        the best weights. Needs ``validation_fraction``.
    patience : int, default=10
        Epochs without improvement before early stopping.
    callbacks : list | None, default=None
        Extra skorch callbacks (``(name, callback)`` pairs or callbacks).
    device : str, default="auto"
        ``"auto"`` picks CUDA when present (with bfloat16 mixed precision), else CPU.
    random_state : int | RandomState | None, default=None
        Seeds weight initialisation, shuffling and the validation split: two fits with
        the same integer give identical models on CPU.
    verbose : int, default=0
        0 is silent; 1 prints skorch's epoch table and a progress bar.
    **kwargs
        ``model__<name>`` routes a hyperparameter to the model (``model__depth=4``,
        ``model__attention="gated_multihead"``), ``optimizer__<name>`` to AdamW
        (``optimizer__betas=(0.9, 0.99)``). Both appear in ``get_params()`` and work
        with ``set_params`` and ``GridSearchCV``.
"""

_COMMON_ATTRS = """
    net_ : skorch.NeuralNet
        The trained skorch net (its ``history`` holds per-epoch losses).
    module_ : torch.nn.Module
        The trained model.
    history_ : skorch.History
        Per-epoch training record.
    n_chans_ : int
        Channels seen at ``fit`` (1 for 2-D input).
    n_times_ : int
        Samples per window seen at ``fit``.
    n_outputs_ : int
        Model outputs.
    n_features_in_ : int
        ``n_chans_ * n_times_``.
    sfreq_ : float | None
        Sampling frequency (Hz) when ``X`` was an ``mne.Epochs``.
    ch_names_ : list of str | None
        Channel names when ``X`` was an ``mne.Epochs``.
"""


class _NeuralEstimator(NeuroEstimatorMixin, BaseEstimator):
    """The constructor shared by :class:`NeuroClassifier` and :class:`NeuroRegressor`."""

    def __init__(self, model: str | type = "eeg_transformer", *, max_epochs: int = 50,
                 lr: float = 1e-3, batch_size: int = 64, weight_decay: float = 1e-2,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, callbacks: list | None = None, device: str = "auto",
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self.model = model
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_routed(kwargs)


class NeuroClassifier(ClassifierMixin, _NeuralEstimator):
    __doc__ = f"""Train a neuroattn model as a scikit-learn classifier (skorch loop).

    ``X`` is ``(n_samples, n_chans, n_times)`` float (EEG in microvolts), a 2-D
    ``(n_samples, n_times)`` array read as one channel, or an ``mne.Epochs`` (converted
    to microvolts; its sampling rate and channel info reach the model). ``y`` holds
    class labels of any type (strings work).

    Parameters
    ----------{_COMMON_PARAMS}
    Attributes
    ----------
    classes_ : numpy.ndarray
        Class labels, sorted.{_COMMON_ATTRS}
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

    def _encode_targets(self, y: Any, n_samples: int) -> np.ndarray:
        if y is None:
            raise ValueError("NeuroClassifier requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}.")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"Classifier can't train when only one class is present: got "
                             f"only {self.classes_.tolist()}; at least 2 classes are needed.")
        self.n_outputs_ = len(self.classes_)
        return encoder.transform(y).astype(np.int64)

    def fit(self, X: Any, y: Any) -> NeuroClassifier:
        """Train on ``X`` ``(n_samples, n_chans, n_times)`` and labels ``y`` ``(n_samples,)``.

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


class NeuroRegressor(RegressorMixin, _NeuralEstimator):
    __doc__ = f"""Train a neuroattn model as a scikit-learn regressor (MSE loss, skorch loop).

    ``X`` as in :class:`NeuroClassifier`; ``y`` is ``(n_samples,)`` or
    ``(n_samples, n_targets)``. Targets are standardised for training and predictions
    mapped back to their units.

    Parameters
    ----------{_COMMON_PARAMS}
    Attributes
    ----------
    y_mean_, y_scale_ : numpy.ndarray
        Per-target mean and standard deviation used to standardise ``y``.{_COMMON_ATTRS}
    """

    _net_class = _Regressor
    _criterion = torch.nn.MSELoss

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

    def fit(self, X: Any, y: Any) -> NeuroRegressor:
        """Train on ``X`` ``(n_samples, n_chans, n_times)`` and targets ``y``.

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
