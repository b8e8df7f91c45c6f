"""Model architectures, one per file, reachable by name through the registry."""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from ._base import NeuroModel

__all__ = ["NeuroModel", "model_registry", "register_model", "create_model",
           "list_models", "model_table"]

#: Every neuroattn architecture by name, tagged with ``task`` and ``modality``.
model_registry = Registry("model")


def register_model(name: str | None = None, *, task: str | tuple[str, ...],
                   modality: str | tuple[str, ...], paper: str = "", **tags: Any):
    """Register a :class:`NeuroModel` subclass under ``name``.

    Parameters
    ----------
    name : str | None
        Registry name (defaults to the class name in snake case).
    task : str | tuple of str
        What it is for: ``"classification"``, ``"regression"``, ``"forecasting"``,
        ``"pretraining"``, ``"encoding"``.
    modality : str | tuple of str
        ``"eeg"``, ``"ieeg"``, ``"fmri"``.
    paper : str
        Short reference shown in the model table.
    """

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, NeuroModel)):
            raise ValueError(f"{cls!r} must subclass NeuroModel to be registered.")
        return model_registry.register(name, task=task, modality=modality, paper=paper,
                                       **tags)(cls)

    return decorator


def create_model(name: str | type, /, **kwargs: Any) -> NeuroModel:
    """Build a registered model.

    Parameters
    ----------
    name : str | type
        Registry name (see :func:`list_models`) or a :class:`NeuroModel` subclass.
    **kwargs
        Signal arguments (``n_chans, n_times, n_outputs, sfreq, chs_info``) and the
        model's hyperparameters.

    Raises
    ------
    ValueError
        If the name is unknown; the message lists close names.
    """
    return model_registry.get(name)(**kwargs)


def list_models(task: str | None = None, modality: str | None = None) -> list[str]:
    """Names of the registered models, filtered by ``task`` and/or ``modality``."""
    return model_registry.names(task=task, modality=modality)


def model_table(fmt: str = "markdown") -> str:
    """The registry as a table (``"markdown"`` or ``"text"``) for the README and CLI."""
    def _join(v: Any) -> str:
        return ", ".join(v) if isinstance(v, (tuple, list)) else str(v)

    rows = [(e.name, _join(e.tags["task"]), _join(e.tags["modality"]),
             e.tags.get("paper", ""), e.summary) for e in model_registry.entries()]
    header = ("name", "task", "modality", "reference", "summary")
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else r[i] for i in range(5)) + " |"
                  for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    fmt_row = "  ".join(f"{{:<{w}}}" for w in widths).format
    return "\n".join([fmt_row(*header)] + [fmt_row(*r) for r in rows])


def _import_architectures() -> None:
    # One architecture a file: importing every public module of this package registers
    # them all, so adding a model never means editing this file.
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_architectures()
