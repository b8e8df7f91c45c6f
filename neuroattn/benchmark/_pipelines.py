"""MOABB-format YAML pipelines shipped with neuroattn: listing, loading, validation.

A pipeline file is code: each step's ``from:`` is imported and its ``name:`` called with
the ``parameters:`` (MOABB's design), so loading a YAML file can run anything the
environment can import. Only the shipped files (:data:`PIPELINE_DIR`) and the files a
caller names explicitly are read; nothing is looked up in the working directory.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

__all__ = ["PIPELINE_DIR", "TorchSeeded", "list_pipelines", "load_pipelines",
           "pipeline_paradigms", "braindecode_classifier"]

#: The folder of the shipped YAML pipelines (``pipelines/`` at the repository root).
PIPELINE_DIR = Path(__file__).resolve().parents[1] / "pipelines"

#: Sub-folders of :data:`PIPELINE_DIR` read with the top level: the SSVEP pipelines
#: (kept apart so that MOABB's own parser of the top level sees motor imagery only).
_SUBFOLDERS = ("ssvep",)


@contextmanager
def _forked_rng() -> Iterator[None]:
    """Run a block on a fork of torch's generators (a DataLoader draws a seed from them
    even when it does not shuffle): the caller's RNG state is restored afterwards."""
    import torch

    with torch.random.fork_rng():
        yield


class TorchSeeded(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A torch classifier without a seed of its own, fitted under a fixed torch seed.

    ``fit`` runs inside :func:`torch.random.fork_rng` seeded with ``random_state``:
    the weights, batch order and dropout repeat from run to run, and the caller's
    global torch RNG state is the same after ``fit`` (and after predicting) as before.

    Parameters
    ----------
    estimator : classifier
        Unfitted scikit-learn-compatible classifier drawing from torch's global RNG
        (e.g. braindecode's ``EEGClassifier``); cloned at ``fit``.
    random_state : int
        Seed of torch's generators during ``fit``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : numpy.ndarray
        Class labels of the fitted clone.
    """

    def __init__(self, estimator: Any, random_state: int = 0) -> None:
        self.estimator = estimator
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> TorchSeeded:
        """Fit a clone of ``estimator`` under the seed.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            Trials, as ``estimator`` takes them.
        y : array-like, shape (n_trials,)
            Class labels.
        **fit_params
            Passed to ``estimator.fit``.

        Returns
        -------
        TorchSeeded
            ``self``.

        Raises
        ------
        ValueError
            If ``random_state`` is not an int.
        """
        if isinstance(self.random_state, bool) or not isinstance(self.random_state,
                                                                  (int, np.integer)):
            raise ValueError(f"random_state must be an int, got {self.random_state!r}.")
        import torch

        with _forked_rng():
            torch.manual_seed(int(self.random_state))
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    @property
    def classes_(self) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.classes_

    def predict(self, X: Any) -> np.ndarray:
        """Class labels ``(n_trials,)`` of the fitted clone."""
        check_is_fitted(self, "estimator_")
        with _forked_rng():
            return self.estimator_.predict(X)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_trials, n_classes)`` of the fitted clone."""
        check_is_fitted(self, "estimator_")
        with _forked_rng():
            return self.estimator_.predict_proba(X)

    @available_if(lambda self: hasattr(self.estimator, "decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values of the fitted clone."""
        check_is_fitted(self, "estimator_")
        with _forked_rng():
            return self.estimator_.decision_function(X)


def _yaml_files(paths: str | Path | list | None) -> list[Path]:
    if paths is None:
        files = sorted(PIPELINE_DIR.glob("*.yml"))
        for sub in _SUBFOLDERS:
            files += sorted((PIPELINE_DIR / sub).glob("*.yml"))
        if importlib.util.find_spec("braindecode") is not None:
            files += sorted((PIPELINE_DIR / "braindecode").glob("*.yml"))
        return files
    out = []
    for p in [paths] if isinstance(paths, (str, Path)) else list(paths):
        p = Path(p)
        if p.is_dir():
            out += sorted(p.glob("*.yml"))
        elif p.suffix in (".yml", ".yaml") and p.is_file():
            out.append(p)
        else:
            raise ValueError(f"Pipeline path {str(p)!r} is neither a .yml file nor a folder "
                             "of them.")
    return out


def _check_neuro_step(params: dict, where: str) -> None:
    """Reject unknown model / attention names before any data is loaded."""
    from ..models import model_registry
    from ..nn import attention_registry

    model = params.get("model", "eeg_transformer")
    try:
        model_registry.get(model)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    for key in ("model__attention", "model__input_attention"):
        name = params.get(key)
        if name is None:
            continue
        try:
            attention_registry.get(name)
        except ValueError as exc:
            raise ValueError(f"{where} ({key}): {exc}") from None


def _build_step(step: dict, where: str) -> Any:
    if not isinstance(step, dict) or "name" not in step or "from" not in step:
        raise ValueError(f"{where}: each pipeline step needs 'name' and 'from', got {step!r}.")
    if not isinstance(step["from"], str) or not isinstance(step["name"], str):
        raise ValueError(f"{where}: a step's 'name' and 'from' must be text, got "
                         f"name={step['name']!r}, from={step['from']!r}.")
    params = step.get("parameters") or {}
    if not isinstance(params, dict):
        raise ValueError(f"{where}: the 'parameters' of step {step['name']!r} must be a "
                         f"mapping, got {params!r}.")
    params = dict(params)
    try:
        module = importlib.import_module(step["from"])
    except Exception as exc:  # ImportError, a relative or empty name, an import-time error
        raise ValueError(f"{where}: cannot import {step['from']!r} "
                         f"({type(exc).__name__}: {exc}).") from None
    factory = getattr(module, step["name"], None)
    if factory is None:
        raise ValueError(f"{where}: {step['from']!r} has no {step['name']!r}.")
    if step["name"] in ("NeuroClassifier", "NeuroRegressor"):
        _check_neuro_step(params, where)
    try:
        return factory(**params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: could not build {step['name']}: {exc}") from None


def _read_config(path: Path) -> dict:
    """The parsed pipeline file, or a ValueError naming the file (and the line of a YAML
    syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a text (UTF-8) YAML file ({exc.reason} at byte "
                         f"{exc.start}).") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{path}{line}: YAML syntax error: {problem}.") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: not a MOABB pipeline file (expected a mapping with "
                         f"'name', 'paradigms' and 'pipeline' keys, got "
                         f"{type(config).__name__}).")
    missing = [k for k in ("name", "pipeline") if k not in config]
    if missing:
        raise ValueError(f"{path}: not a MOABB pipeline file: missing keys {missing} (a "
                         "pipeline file has 'name', 'paradigms' and 'pipeline').")
    if not isinstance(config["name"], str) or not config["name"]:
        raise ValueError(f"{path}: 'name' must be a non-empty text, got {config['name']!r}.")
    if not isinstance(config["pipeline"], list) or not config["pipeline"]:
        raise ValueError(f"{path}: 'pipeline' must be a non-empty list of steps, got "
                         f"{config['pipeline']!r}.")
    return config


def load_pipelines(paths: str | Path | list | None = None,
                   names: list[str] | None = None) -> dict[str, Pipeline]:
    """Build scikit-learn pipelines from MOABB-format YAML files.

    A pipeline file is code: every step's ``from:`` module is imported and its
    ``name:`` called (MOABB's design). Load only files you trust; nothing is read
    from a location not given here (the shipped files by default).

    Parameters
    ----------
    paths : str | Path | list | None
        YAML files or folders of them; None loads neuroattn's own pipelines
        (:data:`PIPELINE_DIR` and its ``ssvep/``, plus ``braindecode/`` when braindecode
        is installed).
    names : list of str | None
        Keep only these pipeline names (the ``name:`` of each file).

    Returns
    -------
    dict of str to sklearn.pipeline.Pipeline
        Pipeline name to an unfitted pipeline, in file order.

    Raises
    ------
    ValueError
        On a path that is not YAML, a YAML syntax error (file and line), a file that
        is not a pipeline (no ``name``/``pipeline``), two files with the same name, a
        step whose module cannot be imported, a neuroattn step naming an unknown model
        or attention block, or a requested name that no file defines (close names
        listed).
    """
    pipes: dict[str, Pipeline] = {}
    seen: dict[str, Path] = {}
    for path in _yaml_files(paths):
        config = _read_config(path)
        name = config["name"]
        if name in seen:
            raise ValueError(f"{path}: pipeline name {name!r} is also defined in "
                             f"{seen[name]}.")
        seen[name] = path
        if names is not None and name not in names:
            continue
        where = f"{path} ({name})"
        steps = [_build_step(step, where) for step in config["pipeline"]]
        pipes[name] = Pipeline([(f"{type(s).__name__.lower()}_{i}", s)
                                for i, s in enumerate(steps)])
    if names is not None:
        missing = [n for n in names if n not in pipes]
        if missing:
            hints = []
            for n in missing:
                close = difflib.get_close_matches(n, list(seen), n=3, cutoff=0.5)
                if close:
                    hints.append(f"{n!r}: did you mean {', '.join(map(repr, close))}?")
                if Path(n).is_dir():
                    hints.append(f"{n!r} is a folder: name YAML files, or the folder with "
                                 "a trailing '/'.")
            raise ValueError(f"No pipeline named {missing}. " + " ".join(hints)
                             + f" Available: {list(seen)}.")
    return pipes


def list_pipelines(paths: str | Path | list | None = None) -> list[str]:
    """Names of the pipelines in ``paths`` (neuroattn's own by default), without building.

    Raises
    ------
    ValueError
        On a file that is not valid YAML or not a pipeline file (named).
    """
    return [_read_config(p)["name"] for p in _yaml_files(paths)]


def pipeline_paradigms(paths: str | Path | list | None = None) -> dict[str, list[str]]:
    """The MOABB paradigms each pipeline file declares (its ``paradigms:`` list).

    Parameters
    ----------
    paths : str | Path | list | None
        As in :func:`load_pipelines` (neuroattn's own pipelines by default).

    Returns
    -------
    dict of str to list of str
        Pipeline name to MOABB paradigm class names (``"LeftRightImagery"``,
        ``"SSVEP"``, ``"FilterBankSSVEP"``...), empty when the file declares none.

    Raises
    ------
    ValueError
        On a file that is not valid YAML or not a pipeline file, or a ``paradigms``
        entry that is not a list of names (file named).
    """
    out = {}
    for path in _yaml_files(paths):
        config = _read_config(path)
        declared = config.get("paradigms") or []
        if isinstance(declared, str):
            declared = [declared]
        if not isinstance(declared, list) or not all(isinstance(d, str) for d in declared):
            raise ValueError(f"{path}: 'paradigms' must be a list of MOABB paradigm names, "
                             f"got {declared!r}.")
        out[config["name"]] = list(declared)
    return out


def braindecode_classifier(model: str = "AttentionBaseNet", *,
                           model_kwargs: dict[str, Any] | None = None, max_epochs: int = 60,
                           lr: float = 1e-3, batch_size: int = 64, weight_decay: float = 1e-2,
                           random_state: int | None = 0, device: str = "auto"):
    """braindecode's ``EEGClassifier`` set up like :class:`~neuroattn.NeuroClassifier`.

    AdamW, cosine annealing over ``max_epochs``, no internal validation split, so
    that a YAML pipeline compares a braindecode model with neuroattn's under the
    same training recipe.

    Parameters
    ----------
    model : str
        A braindecode model class name (``"AttentionBaseNet"``, ``"EEGNet"``...).
    model_kwargs : dict | None
        Hyperparameters of the model (``{"attention_mode": "se"}``).
    max_epochs, lr, batch_size, weight_decay
        Training recipe.
    random_state : int | None
        Seed of torch's generators during each ``fit`` (weights, batch order,
        dropout), applied through :class:`TorchSeeded` so that the global torch RNG
        is left alone; None: no seeding.
    device : str
        ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda:1"``; resolved
        here to a concrete device (skorch does not know ``"auto"``).

    Returns
    -------
    TorchSeeded | braindecode.EEGClassifier
        The classifier, wrapped in :class:`TorchSeeded` when ``random_state`` is set.

    Raises
    ------
    ValueError
        If braindecode is not installed or has no model of that name, or ``device``
        is not a device of this machine.
    """
    import torch

    from ..estimators import resolve_device

    device = resolve_device(device)  # a bad device fails before braindecode is imported

    try:
        from braindecode import EEGClassifier
        from braindecode.models.util import models_dict
    except ImportError as exc:
        raise ValueError("braindecode is not installed: pip install 'neuroattn[braindecode]' "
                         f"({exc}).") from None
    if model not in models_dict:
        raise ValueError(f"braindecode has no model {model!r}.")
    from skorch.callbacks import LRScheduler

    kwargs = {f"module__{k}": v for k, v in (model_kwargs or {}).items()}
    callbacks = [("lr_scheduler", LRScheduler(policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                                              T_max=max_epochs))]
    clf = EEGClassifier(model, optimizer=torch.optim.AdamW, lr=lr,
                        optimizer__weight_decay=weight_decay, max_epochs=max_epochs,
                        batch_size=batch_size, train_split=None, callbacks=callbacks,
                        iterator_train__shuffle=True, device=device, verbose=0, **kwargs)
    return clf if random_state is None else TorchSeeded(clf, random_state=random_state)
