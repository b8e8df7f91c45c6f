"""Attention building blocks: self/cross attention, transformer blocks, embeddings,
channel attention and graph attention. ``nn`` knows nothing of data or training."""

import importlib as _importlib
import pkgutil as _pkgutil

from ._registry import (
    RecordsAttention,
    attention_registry,
    create_attention,
    list_attentions,
    register_attention,
)
from .attention import (
    CrossAttention,
    GatedCrossAttention,
    GatedMultiHeadAttention,
    MultiHeadAttention,
    scaled_dot_product,
)
from .embedding import (
    ChannelPatchEmbed,
    LearnedPositionalEmbedding,
    PatchEmbed1d,
    SinusoidalPositionalEmbedding,
)
from .transformer import DropPath, FeedForward, TransformerBlock, TransformerEncoder

__all__ = [
    "RecordsAttention", "attention_registry", "create_attention", "list_attentions",
    "register_attention", "CrossAttention", "GatedCrossAttention",
    "GatedMultiHeadAttention", "MultiHeadAttention", "scaled_dot_product",
    "ChannelPatchEmbed", "LearnedPositionalEmbedding", "PatchEmbed1d",
    "SinusoidalPositionalEmbedding", "DropPath", "FeedForward", "TransformerBlock",
    "TransformerEncoder",
]

# Every public module registers its blocks on import (channel.py, graph.py, ...), so
# a new block is one file and one decorator.
for _info in _pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")
