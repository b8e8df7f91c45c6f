"""Pre-norm transformer blocks with stochastic depth."""

from __future__ import annotations

import torch
from torch import nn

from .._docs import fill_doc
from ._registry import attention_registry

__all__ = ["DropPath", "FeedForward", "TransformerBlock", "TransformerEncoder"]


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample while training.

    Parameters
    ----------
    drop_path_prob : float
        Probability in [0, 1) of dropping the branch for a sample; kept outputs are
        scaled by ``1 / (1 - drop_path_prob)``.
    """

    def __init__(self, drop_path_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {drop_path_prob}.")
        self.drop_path_prob = drop_path_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_path_prob == 0.0:
            return x
        keep = 1.0 - self.drop_path_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class FeedForward(nn.Sequential):
    """Two-layer position-wise MLP: Linear -> activation -> dropout -> Linear -> dropout.

    Parameters
    ----------
    embed_dim : int
        Input and output width.
    hidden_dim : int
        Width of the hidden layer.
    activation : type[nn.Module]
        Activation class (instantiated without arguments).
    drop_prob : float
        Dropout probability.
    """

    def __init__(self, embed_dim: int, hidden_dim: int, activation: type[nn.Module] = nn.GELU,
                 drop_prob: float = 0.0) -> None:
        super().__init__(nn.Linear(embed_dim, hidden_dim), activation(), nn.Dropout(drop_prob),
                         nn.Linear(hidden_dim, embed_dim), nn.Dropout(drop_prob))


@fill_doc
class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + DropPath(Attn(LN(x)))`` then the same with an MLP.

    Parameters
    ----------
    %(embed_dim)s
    %(n_heads)s
    %(mlp_ratio)s
    drop_prob : float
        Dropout after the attention projection and in the MLP.
    %(attn_drop_prob)s
    drop_path_prob : float
        Stochastic depth probability of both residual branches.
    %(mlp_activation)s
    attention : str | type
        A registered self-attention block (``"multihead"``, ``"gated_multihead"``) or
        a class with the same constructor.

    Notes
    -----
    %(token_io)s
    """

    def __init__(self, embed_dim: int, n_heads: int = 4, *, mlp_ratio: float = 4.0,
                 drop_prob: float = 0.0, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead") -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attn = attention_registry.get(attention)(
            embed_dim, n_heads, attn_drop_prob=attn_drop_prob, drop_prob=drop_prob)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = FeedForward(embed_dim, max(1, int(embed_dim * mlp_ratio)), activation,
                               drop_prob)
        self.drop_path = DropPath(drop_path_prob)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), attn_mask=attn_mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """A stack of :class:`TransformerBlock` with linearly increasing drop path.

    Parameters
    ----------
    embed_dim, n_heads, mlp_ratio, drop_prob, attn_drop_prob, activation, attention
        As in :class:`TransformerBlock`.
    depth : int
        Number of blocks.
    drop_path_prob : float
        Drop path probability of the last block (0 for the first, linear between).
    final_norm : bool
        Apply a LayerNorm after the last block.
    """

    def __init__(self, embed_dim: int, depth: int = 2, n_heads: int = 4, *,
                 mlp_ratio: float = 4.0, drop_prob: float = 0.0, attn_drop_prob: float = 0.0,
                 drop_path_prob: float = 0.0, activation: type[nn.Module] = nn.GELU,
                 attention: str | type = "multihead", final_norm: bool = True) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}.")
        rates = torch.linspace(0, drop_path_prob, depth).tolist()
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, n_heads, mlp_ratio=mlp_ratio, drop_prob=drop_prob,
                             attn_drop_prob=attn_drop_prob, drop_path_prob=rate,
                             activation=activation, attention=attention)
            for rate in rates)
        self.norm = nn.LayerNorm(embed_dim) if final_norm else nn.Identity()

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, attn_mask=attn_mask)
        return self.norm(x)
