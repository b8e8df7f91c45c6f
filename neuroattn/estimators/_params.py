"""Checks of the training core's routed parameters and validation split, made at ``fit``
before any training, so a bad value fails with its name instead of deep inside torch."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import torch
from sklearn.base import is_classifier

__all__ = ["check_optimizer_params", "check_model_params", "check_split"]

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
