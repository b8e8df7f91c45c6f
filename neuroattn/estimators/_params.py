"""Checks of the training core's routed parameters, class labels and validation split,
made at ``fit`` before any training, so a bad value fails with its name instead of deep
inside torch;
of the fitted attributes of a model file at ``load`` (:func:`check_fitted`); and of the
amplitude of ``X`` after ``fit`` (:func:`check_amplitude`: units)."""

from __future__ import annotations

import inspect
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassifierMixin, is_classifier
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = ["check_optimizer_params", "check_model_params", "encode_class_targets",
           "check_split", "check_fitted", "check_amplitude"]

#: AdamW arguments that are estimator parameters: ``optimizer__lr`` would silently win
#: over ``lr`` (and ``get_params`` would show both).
_OWN_OPTIMIZER_PARAMS = {"lr": "lr", "weight_decay": "weight_decay"}


def check_optimizer_params(routed: dict[str, Any], lr: float, weight_decay: float) -> None:
    """Check ``optimizer__*`` names and values against :class:`torch.optim.AdamW`.

    Parameters
    ----------
    routed : dict
        The ``optimizer__`` parameters without their prefix.
    lr, weight_decay : float
        The estimator's own rate and decay (used to build a probe optimizer).

    Raises
    ------
    ValueError
        For a name AdamW does not take (listing those it takes), ``optimizer__lr`` /
        ``optimizer__weight_decay`` (use the estimator's parameters), or a value AdamW
        refuses.
    """
    if not routed:
        return
    own = sorted(k for k in routed if k in _OWN_OPTIMIZER_PARAMS)
    if own:
        raise ValueError(f"optimizer__{own[0]} duplicates the estimator's parameter "
                         f"{_OWN_OPTIMIZER_PARAMS[own[0]]!r}: set {own[0]}=... instead.")
    accepted = [p for p in inspect.signature(torch.optim.AdamW).parameters
                if p not in ("params", *_OWN_OPTIMIZER_PARAMS)]
    unknown = sorted(k for k in routed if k not in accepted and k != "param_groups")
    if unknown:
        raise ValueError(f"Unknown optimizer parameter(s) "
                         f"{['optimizer__' + k for k in unknown]}: the optimizer is AdamW, "
                         f"which accepts optimizer__<name> for <name> in {accepted} "
                         "(and the estimator's own lr and weight_decay).")
    values = {k: v for k, v in routed.items() if k != "param_groups"}
    try:
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=lr,
                          weight_decay=weight_decay, **values)
    except (TypeError, ValueError, RuntimeError) as exc:
        given = ", ".join(f"optimizer__{k}={v!r}" for k, v in values.items())
        raise ValueError(f"AdamW refuses {given}: {exc}") from None


def check_model_params(model: Any, routed: dict[str, Any]) -> None:
    """Check ``model__*`` names against the model constructor's signature.

    Raises
    ------
    ValueError
        For a name the model does not take (unless its constructor takes
        ``**kwargs``), listing the names it takes.
    """
    from ..models import model_registry

    if not routed:
        return
    cls = model_registry.get(model)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no introspectable signature: let it build
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(k for k in routed if k not in params)
    if unknown:
        name = model if isinstance(model, str) else getattr(model, "__name__", model)
        accepted = [p for p, v in params.items()
                    if v.kind not in (inspect.Parameter.VAR_POSITIONAL,)]
        raise ValueError(f"Could not build model {name!r}: unknown model parameter(s) "
                         f"{['model__' + k for k in unknown]}; it accepts model__<name> for "
                         f"<name> in {accepted}.")


def encode_class_targets(estimator: Any, y: Any, n_samples: int) -> np.ndarray:
    """Class labels ``y`` ``(n_samples,)`` as integers ``0..n_classes-1``; sets the
    classifier's ``classes_`` (sorted labels) and ``n_outputs_``.

    Raises
    ------
    ValueError
        If ``y`` is None, of another length than ``X``, not class labels (continuous,
        NaN), or holds a single class.
    """
    name = type(estimator).__name__
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}.")
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    estimator.classes_ = encoder.classes_
    if len(estimator.classes_) < 2:
        raise ValueError(f"Classifier can't train when only one class is present: got "
                         f"only {estimator.classes_.tolist()}; at least 2 classes are "
                         "needed.")
    estimator.n_outputs_ = len(estimator.classes_)
    return encoder.transform(y).astype(np.int64)


def check_split(estimator: Any, X: Any, y: Any) -> None:
    """Check that ``validation_fraction`` leaves a usable train and validation set.

    Classifiers split stratified (skorch's ``ValidSplit``, scikit-learn's
    ``StratifiedShuffleSplit``): every class needs two samples, and both sets at least
    one sample per class.

    Raises
    ------
    ValueError
        Naming ``validation_fraction``, the sample counts and the classes concerned.
    """
    frac = estimator.validation_fraction
    if frac is None:
        return
    n = len(X)
    n_valid = math.ceil(frac * n)
    n_train = n - n_valid
    if n_train < 1:
        raise ValueError(f"validation_fraction={frac} holds out {n_valid} of {n} samples, "
                         "leaving none to train on; use a smaller validation_fraction "
                         "or more data.")
    if not is_classifier(estimator) or y is None:
        return
    labels = getattr(estimator, "classes_", None)
    counts = np.bincount(np.asarray(y).astype(np.int64))
    present = np.flatnonzero(counts)
    rare = present[counts[present] < 2]
    def names(idx):
        return [labels[i].item() if hasattr(labels[i], "item") else labels[i]
                for i in idx] if labels is not None else idx.tolist()

    if len(rare):
        raise ValueError(f"validation_fraction={frac}: class(es) {names(rare)} have a "
                         "single sample, which a stratified split cannot put in both the "
                         "training and the validation set; use validation_fraction=None "
                         "or add samples.")
    k = len(present)
    if n_valid < k or n_train < k:
        raise ValueError(f"validation_fraction={frac} splits {n} samples into {n_train} to "
                         f"train and {n_valid} to validate, but each set needs at least one "
                         f"sample of each of the {k} classes; use a validation_fraction "
                         f"between {k / n:.3g} and {1 - k / n:.3g}, or more data.")


def check_fitted(cls: type, fitted: dict[str, Any], path: Path, *,
                 not_stored: tuple[str, ...]) -> None:
    """Refuse the fitted attributes of a model file (``load``) that a fit cannot have
    produced (a hand-edited file), or that miss one ``cls._fitted_required`` names.

    Raises
    ------
    ValueError
        Naming ``path`` and the attribute.
    """
    for key in fitted:
        if (not key.isidentifier() or not key.endswith("_") or key.startswith("_")
                or key in not_stored or hasattr(cls, key)):
            raise ValueError(f"{path}: {key!r} is not a fitted attribute of {cls.__name__} "
                             "(fitted attributes are named '<name>_').")
    missing = [k for k in getattr(cls, "_fitted_required", ()) if k not in fitted]
    if missing:
        raise ValueError(f"{path}: the file is missing the fitted attribute(s) "
                         f"{', '.join(missing)} that {cls.__name__} needs to rebuild the "
                         "model and predict; it was not written whole by save().")
    n_outputs = fitted.get("n_outputs_")
    if "n_outputs_" in fitted and (isinstance(n_outputs, bool) or not isinstance(
            n_outputs, int) or n_outputs < 1):
        raise ValueError(f"{path}: n_outputs_ must be a positive integer, found "
                         f"{n_outputs!r}.")
    for key in ("y_mean_", "y_scale_"):
        if key in fitted and n_outputs is not None and np.shape(fitted[key]) != (n_outputs,):
            raise ValueError(f"{path}: {key} has shape {np.shape(fitted[key])}, expected "
                             f"({n_outputs},) (n_outputs_).")
    if issubclass(cls, ClassifierMixin):
        _check_classes(fitted, n_outputs, path)


def _check_classes(fitted: dict[str, Any], n_outputs: int | None, path: Path) -> None:
    classes = fitted.get("classes_")
    if not isinstance(classes, np.ndarray):
        raise ValueError(f"{path}: a classifier needs classes_ (an array of labels), "
                         f"found {type(classes).__name__}.")
    if classes.ndim != 1 or classes.size < 2:
        raise ValueError(f"{path}: classes_ must be a 1-D array of at least 2 labels, "
                         f"found shape {classes.shape}.")
    try:
        unique = np.unique(classes)
    except TypeError as exc:
        raise ValueError(f"{path}: classes_ cannot be ordered ({exc}).") from exc
    if len(unique) != len(classes):
        raise ValueError(f"{path}: classes_ must be unique, found {classes.tolist()}.")
    if not np.array_equal(unique, classes):
        raise ValueError(f"{path}: classes_ are not sorted as fit stores them "
                         f"(found {classes.tolist()}); the labels would be mapped to the "
                         "wrong outputs.")
    if n_outputs is not None and len(classes) != n_outputs:
        raise ValueError(f"{path}: {len(classes)} classes in classes_ but the model has "
                         f"{n_outputs} outputs (n_outputs_).")


def check_amplitude(est: Any, data: np.ndarray, *, epochs: bool, reset: bool) -> None:
    """At ``fit`` keep the typical amplitude of ``X`` as ``est.input_amplitude_``; after
    it, warn when ``X`` is 1000 times larger or smaller: other units (volts for
    microvolts), not other data. A model without it (an older file) is not checked.

    Parameters
    ----------
    est : NeuroEstimatorMixin
        The estimator (its ``chs_info_`` says whether it was fitted on an mne.Epochs).
    data : numpy.ndarray
        The checked ``(n_samples, n_chans, n_times)`` input.
    epochs : bool
        Whether ``X`` was an ``mne.Epochs`` (read in microvolts).
    reset : bool
        True at ``fit``.

    Warns
    -----
    UserWarning
        Naming the factor and the likely cause.
    """
    level = _typical_amplitude(data)
    if reset:
        est.input_amplitude_ = level
        return
    fitted = getattr(est, "input_amplitude_", None)
    # 1000, with the rounding of float32 data (a units factor is a power of ten)
    if not fitted or not level or abs(np.log10(level / fitted)) < 2.99:
        return
    ratio = level / fitted
    size = (f"{1 / ratio:.3g} times smaller" if ratio < 1
            else f"{ratio:.3g} times larger")
    name = type(est).__name__
    if getattr(est, "chs_info_", None) and not epochs and ratio < 1:
        cause = ("X is probably in volts (what epochs.get_data() returns), while the "
                 "model was fitted on an mne.Epochs, read in microvolts: pass the "
                 "Epochs itself, or epochs.get_data(units='uV').")
    else:
        cause = ("the units probably differ (volts vs microvolts is a factor 1e6, "
                 "millivolts 1e3): give X in the units of the training data; "
                 "predictions on other units are meaningless.")
    warnings.warn(f"{name}: the typical amplitude of X ({level:.3g}) is {size} than "
                  f"that of the training data ({fitted:.3g}); {cause}", UserWarning,
                  stacklevel=6)


def _typical_amplitude(data: np.ndarray, n_max: int = 256) -> float:
    """Median over (up to ``n_max`` evenly spaced) samples of their standard deviation:
    a robust scale of ``(n, n_chans, n_times)`` signals, in their units (0 if flat)."""
    picks = np.unique(np.linspace(0, len(data) - 1, min(len(data), n_max)).astype(int))
    return float(np.median(np.std(np.asarray(data[picks], dtype=np.float64), axis=(1, 2))))
