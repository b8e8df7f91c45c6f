"""Attention building blocks: self/cross attention, transformer blocks, embeddings,
channel attention and graph attention. ``nn`` knows nothing of data or training."""

from ._registry import (RecordsAttention, attention_registry, create_attention,
                        list_attentions, register_attention)
from .attention import (CrossAttention, GatedCrossAttention, GatedMultiHeadAttention,
                        MultiHeadAttention, scaled_dot_product)
from .embedding import (ChannelPatchEmbed, LearnedPositionalEmbedding, PatchEmbed1d,
                        SinusoidalPositionalEmbedding)
from .transformer import DropPath, FeedForward, TransformerBlock, TransformerEncoder

__all__ = [
    "RecordsAttention", "attention_registry", "create_attention", "list_attentions",
    "register_attention", "CrossAttention", "GatedCrossAttention",
    "GatedMultiHeadAttention", "MultiHeadAttention", "scaled_dot_product",
    "ChannelPatchEmbed", "LearnedPositionalEmbedding", "PatchEmbed1d",
    "SinusoidalPositionalEmbedding", "DropPath", "FeedForward", "TransformerBlock",
    "TransformerEncoder",
]
