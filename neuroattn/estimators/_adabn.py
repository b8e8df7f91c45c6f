"""Batch-normalisation statistics re-estimated on a new subject's unlabelled trials
(AdaBN, Li et al. 2018, https://doi.org/10.1016/j.patcog.2018.03.005)."""

from __future__ import annotations

import copy

import numpy as np
import torch

__all__ = ["adapted_copy", "check_adaptable"]


def check_adaptable(model: torch.nn.Module, parameter: str = "adapt") -> None:
    """Refuse a model without batch normalisation (nothing to adapt).

    Raises
    ------
    ValueError
        If ``model`` holds no ``BatchNorm`` layer; the message names ``parameter``.
    """
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ValueError(f"{parameter} needs a model with batch normalisation; "
                         f"{type(model).__name__} has none (ssvep_dnn has it with "
                         "head='power').")


def adapted_copy(model: torch.nn.Module, data: np.ndarray, device: torch.device | str,
                 who: str = "the trials given", parameter: str = "adapt") -> torch.nn.Module:
    """A copy of ``model`` whose batch-normalisation statistics are those of ``data``.

    Every ``BatchNorm`` layer's running mean and variance are replaced by the statistics
    of one forward pass over all of ``data`` at once (dropout off, no gradient); the
    weights are unchanged and ``model`` itself is left as it was.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model holding at least one batch-normalisation layer.
    data : numpy.ndarray
        ``(n_trials, ...)`` float32 inputs, as the model reads them (one subject's).
    device : torch.device | str
        Where the model's parameters live.
    who : str
        Names the trials in error messages (e.g. ``"subject 3"``).
    parameter : str
        The estimator parameter that asked for the adaptation, for error messages.

    Returns
    -------
    torch.nn.Module
        The adapted copy, in eval mode.

    Raises
    ------
    ValueError
        If ``model`` has no batch normalisation, or ``data`` holds fewer than 2 trials.
    """
    check_adaptable(model, parameter)
    if data.shape[0] < 2:
        raise ValueError(f"{parameter} re-estimates batch-normalisation statistics from "
                         f"the trials of each unseen subject, but {who} came with "
                         f"{data.shape[0]} trial(s): pass at least 2 trials of a subject "
                         "together.")
    adapted = copy.deepcopy(model).eval()
    for m in adapted.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # the statistics of this one pass, not a moving average
            m.train()
    with torch.no_grad():
        adapted(torch.as_tensor(data, device=device))
    return adapted.eval()
