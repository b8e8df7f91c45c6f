"""Registry of attention blocks (self, cross, channel, graph, gating)."""

from __future__ import annotations

from typing import Any

import torch

from .._registry import Registry

__all__ = ["attention_registry", "register_attention", "create_attention",
           "list_attentions", "RecordsAttention"]

#: Every attention block of neuroattn, by name. ``kind`` tags: ``"self"``,
#: ``"cross"``, ``"channel"``, ``"graph"``.
attention_registry = Registry("attention")


def register_attention(name: str | None = None, *, kind: str, **tags: Any):
    """Register an attention block class under ``name``.

    Parameters
    ----------
    name : str | None
        Registry name; defaults to the class name in snake case.
    kind : {"self", "cross", "channel", "graph"}
        What the block attends over. Channel blocks map ``(batch, in_channels, time)``
        (or ``(batch, in_channels, height, time)``) to the same shape.
    **tags
        Extra metadata (``paper=...``) shown by :func:`list_attentions`.
    """
    return attention_registry.register(name, kind=kind, **tags)


def create_attention(name: str | type, /, **kwargs: Any) -> torch.nn.Module:
    """Build a registered attention block by name.

    Parameters
    ----------
    name : str | type
        A registry name (see :func:`list_attentions`) or a module class.
    **kwargs
        Constructor arguments of the block, e.g. ``in_channels`` for channel blocks,
        ``embed_dim`` and ``n_heads`` for self- and cross-attention.

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        If the name is unknown (the message lists close names).
    """
    return attention_registry.get(name)(**kwargs)


def list_attentions(kind: str | None = None) -> list[str]:
    """Names of the registered attention blocks, optionally of one ``kind``.

    Parameters
    ----------
    kind : {"self", "cross", "channel", "graph"} | None
        Keep only the blocks of this kind; None lists them all.

    Returns
    -------
    list of str
        Sorted registry names (an unknown ``kind`` gives an empty list).
    """
    return attention_registry.names(kind=kind)


class RecordsAttention:
    """Mixin for modules whose attention weights can be read after a forward pass.

    When ``record_attention`` is True the module keeps a detached copy of its most
    recent weights in ``last_attention``; models switch it on in
    :meth:`neuroattn.models.NeuroModel.get_attention_weights`, so users need no hooks.
    It is off by default so that training keeps no extra tensors.
    """

    record_attention: bool = False
    last_attention: torch.Tensor | None = None

    def _record(self, weights: torch.Tensor) -> None:
        if self.record_attention:
            self.last_attention = weights.detach()
