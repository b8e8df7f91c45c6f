"""Attention building blocks: self/cross attention, transformer blocks, embeddings,
channel attention, graph attention, and the losses and critics models train with.
``nn`` knows nothing of data or training loops."""

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
    SpectralPatchEmbed,
)
from .losses import (
    MaskedMSELoss,
    WassersteinCritic,
    critic_loss,
    gradient_penalty,
    masked_reconstruction_loss,
    wasserstein_distance,
)
from .transformer import DropPath, FeedForward, TransformerBlock, TransformerEncoder

__all__ = [
    "RecordsAttention", "attention_registry", "create_attention", "list_attentions",
    "register_attention", "CrossAttention", "GatedCrossAttention",
    "GatedMultiHeadAttention", "MultiHeadAttention", "scaled_dot_product",
    "ChannelPatchEmbed", "LearnedPositionalEmbedding", "PatchEmbed1d",
    "SinusoidalPositionalEmbedding", "SpectralPatchEmbed", "DropPath", "FeedForward",
    "TransformerBlock", "TransformerEncoder", "MaskedMSELoss", "WassersteinCritic",
    "critic_loss", "gradient_penalty", "masked_reconstruction_loss", "wasserstein_distance",
]

# Every public module registers its blocks on import (channel/, graph.py, ...), so
# a new block is one file and one decorator.
for _info in _pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_info.name}")
