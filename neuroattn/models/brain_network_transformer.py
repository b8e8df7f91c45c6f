"""Brain Network Transformer: self-attention over regions of a connectome (Kan et al. 2022)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._docs import fill_doc
from ..nn.transformer import TransformerEncoder
from . import register_model
from ._base import NeuroModel

__all__ = ["BrainNetworkTransformer", "OrthonormalClusterReadout"]


class OrthonormalClusterReadout(nn.Module):
    """Soft-assign region embeddings to clusters with orthonormal centres, pool per cluster.

    Each of the ``n_clusters`` learnable centres starts as a row of an orthonormal
    matrix (so clusters start distinct). A region's assignment is the softmax over
    clusters of its embedding's dot products with the centres; a cluster's embedding
    is the assignment-weighted sum of the region embeddings.

    Parameters
    ----------
    embed_dim : int
        Width of a region embedding.
    n_clusters : int
        Number of clusters (at most ``embed_dim``, so that the centres can be
        orthonormal).

    Raises
    ------
    ValueError
        If ``n_clusters`` is not in ``[1, embed_dim]``.

    Notes
    -----
    Input ``(batch, n_regions, embed_dim)``; output ``(batch, n_clusters, embed_dim)``.
    The last assignments, ``(batch, n_regions, n_clusters)``, are kept in
    ``assignments_`` (detached) for plotting.
    """

    def __init__(self, embed_dim: int, n_clusters: int) -> None:
        super().__init__()
        if not 1 <= n_clusters <= embed_dim:
            raise ValueError(f"n_clusters must be between 1 and the embedding width "
                             f"({embed_dim}) so that the centres can be orthonormal, got "
                             f"{n_clusters}.")
        centres = torch.empty(n_clusters, embed_dim)
        nn.init.orthogonal_(centres)
        self.centres = nn.Parameter(centres)
        self.assignments_: torch.Tensor | None = None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assignment = torch.softmax(z @ self.centres.t(), dim=-1)
        self.assignments_ = assignment.detach()
        return assignment.transpose(1, 2) @ z


@register_model("brain_network_transformer", task="classification", modality="fmri",
                paper="Kan, Dai, Cui, Zhang, Guo & Yang, NeurIPS 2022")
@fill_doc
class BrainNetworkTransformer(NeuroModel):
    """Multi-head self-attention over regions whose tokens are their connectivity rows.

    The input of one subject is its ``(n_regions, n_regions)`` connectivity matrix
    (e.g. Pearson correlations from :class:`nilearn.connectome.ConnectivityMeasure`
    with ``vectorize=False``); row ``i`` is region ``i``'s token, so no positional
    encoding is needed (a row says where the region is by whom it correlates with).
    Layers, after Kan et al. (2022):

    1. optionally a linear projection of the rows to ``embed_dim`` (None keeps the
       rows, as in the paper);
    2. ``depth`` pre-norm transformer blocks of ``n_heads`` heads;
    3. orthonormal clustering readout (:class:`OrthonormalClusterReadout`): soft
       assignment of regions to ``n_clusters`` clusters, pooled embeddings;
    4. each cluster embedding reduced to ``cluster_dim`` features (linear, LeakyReLU),
       concatenated, then an MLP to ``hidden_dims`` and ``final_layer``.

    Two options feed it outside knowledge (both frozen buffers, never trained):

    - ``region_embedding``, ``(n_regions, d)``: a fixed vector per region (e.g. the
      region embeddings of a pretrained :class:`~neuroattn.models.brain_mae.BrainMAE`,
      ``BrainMAEPretrainer.module_.region_embed``), standardised per column and
      concatenated to every region's connectivity row before step 1, so the tokens are
      ``n_regions + d`` wide;
    - ``diagonal_offset=True``: the diagonal of each input matrix carries a
      per-subject logit (e.g. the decision function of tangent space + logistic
      regression, out-of-fold on training subjects), which is added to the class-1
      output of a binary network whose ``final_layer`` starts at zero, and zeroed
      before the tokens: training starts from the linear model and the attention path
      learns a residual on top of it
      (:class:`~neuroattn.benchmark._connectome_skip.LinearSkipTransformer`).

    ``n_chans`` and ``n_times`` are both the number of regions (the braindecode
    signal arguments of a square input). Written from the paper's description.

    Parameters
    ----------
    %(signal_args)s
    embed_dim : int | None
        Width of a region token; None uses the connectivity row itself
        (``n_regions`` wide).
    depth : int
        Transformer blocks.
    n_heads : int
        Attention heads; must divide the token width.
    mlp_ratio : float
        Width of the blocks' MLP relative to the token width.
    n_clusters : int
        Clusters of the readout.
    cluster_dim : int
        Features kept per cluster before the MLP.
    hidden_dims : tuple of int
        Widths of the MLP between the pooled clusters and ``final_layer``.
    drop_prob : float
        Dropout in the transformer blocks and the MLP.
    region_embedding : array-like of shape (n_regions, d) | None
        Fixed region features concatenated to the connectivity rows (see above).
    diagonal_offset : bool
        Read a class-1 logit offset from the input's diagonal (its mean per subject;
        needs ``n_outputs == 2``), see above.

    Raises
    ------
    ValueError
        If ``n_chans != n_times`` (the input must be square), ``n_heads`` does not
        divide the token width, a size is not a positive integer, ``region_embedding``
        is not a finite ``(n_regions, d)`` array, or ``diagonal_offset`` is asked of a
        network that is not binary.
    """

    example_signal_args: ClassVar[dict[str, Any]] = {"n_chans": 12, "n_times": 12,
                                                     "n_outputs": 2}

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None, *,
                 embed_dim: int | None = None, depth: int = 2, n_heads: int = 4,
                 mlp_ratio: float = 4.0, n_clusters: int = 10, cluster_dim: int = 8,
                 hidden_dims: tuple[int, ...] = (256, 32), drop_prob: float = 0.1,
                 region_embedding: Any = None, diagonal_offset: bool = False) -> None:
        super().__init__(n_chans, n_times, n_outputs, sfreq, chs_info, input_window_seconds)
        if self.n_chans != self.n_times:
            raise ValueError(f"BrainNetworkTransformer takes square connectivity matrices: "
                             f"n_chans ({self.n_chans}) and n_times ({self.n_times}) must "
                             "both be the number of regions.")
        for name, value in (("depth", depth), ("n_clusters", n_clusters),
                            ("cluster_dim", cluster_dim), ("n_heads", n_heads),
                            *((f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims))):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        extra = self._register_fixed(region_embedding, diagonal_offset)
        n_in = self.n_chans + extra
        width = n_in if embed_dim is None else int(embed_dim)
        if width < 1 or width % n_heads:
            what = "n_regions + region_embedding width" if embed_dim is None else "embed_dim"
            raise ValueError(f"n_heads={n_heads} must divide the token width {width} ({what}).")
        self.project = (nn.Identity() if embed_dim is None else nn.Linear(n_in, width))
        self.encoder = TransformerEncoder(width, depth, n_heads, mlp_ratio=mlp_ratio,
                                          drop_prob=drop_prob)
        self.readout = OrthonormalClusterReadout(width, n_clusters)
        self.reduce = nn.Sequential(nn.Linear(width, cluster_dim), nn.LeakyReLU())
        layers: list[nn.Module] = []
        previous = n_clusters * cluster_dim
        for size in hidden_dims:
            layers += [nn.Linear(previous, size), nn.LeakyReLU(), nn.Dropout(drop_prob)]
            previous = size
        self.mlp = nn.Sequential(*layers)
        self.num_features = previous
        self.final_layer = nn.Linear(previous, self.n_outputs)
        if self.diagonal_offset:  # start at the offset (the linear model): zero residual
            nn.init.zeros_(self.final_layer.weight)
            nn.init.zeros_(self.final_layer.bias)

    def _register_fixed(self, region_embedding: Any, diagonal_offset: bool) -> int:
        """Validate and store the frozen region features; return the width they add."""
        r = self.n_chans
        emb = None
        if region_embedding is not None:
            emb = np.asarray(region_embedding, dtype=np.float64)
            if emb.ndim != 2 or emb.shape[0] != r or emb.shape[1] < 1:
                raise ValueError(f"region_embedding must be a (n_regions, d) = ({r}, d) array "
                                 f"with d >= 1, one row per region, got shape {emb.shape}.")
            if not np.isfinite(emb).all():
                raise ValueError("region_embedding holds NaN or infinite values.")
            emb = (emb - emb.mean(0)) / np.where(emb.std(0) > 0, emb.std(0), 1.0)
            emb = torch.as_tensor(emb, dtype=torch.float32)
        self.register_buffer("region_features", emb)
        if diagonal_offset and self.n_outputs != 2:
            raise ValueError(f"diagonal_offset adds one logit: it needs a binary network "
                             f"(n_outputs=2), got n_outputs={self.n_outputs}.")
        self.diagonal_offset = bool(diagonal_offset)
        return 0 if emb is None else emb.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(batch, n_outputs)`` of ``(batch, R, R)`` matrices (plus the offset)."""
        if not self.diagonal_offset:
            return super().forward(x)
        diagonal = torch.diagonal(x, dim1=1, dim2=2)
        x = x - torch.diag_embed(diagonal)
        logit = diagonal.mean(1)
        return super().forward(x) + torch.stack([torch.zeros_like(logit), logit], dim=1)

    def _check_input(self, x: torch.Tensor) -> None:
        super()._check_input(x)
        if x.shape[1] != x.shape[2]:
            raise ValueError(f"BrainNetworkTransformer expects square (batch, n_regions, "
                             f"n_regions) connectivity matrices, got shape {tuple(x.shape)}.")

    def example_input(self, batch_size: int = 2,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch of random correlation matrices ``(batch_size, n_regions, n_regions)``."""
        series = torch.randn(batch_size, 3 * self.n_chans, self.n_chans, generator=generator)
        series = (series - series.mean(1, keepdim=True)) / series.std(1, keepdim=True)
        return series.transpose(1, 2) @ series / (series.shape[1] - 1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(batch, hidden_dims[-1])`` of ``(batch, R, R)`` matrices."""
        if self.region_features is not None:
            x = torch.cat([x, self.region_features.expand(x.shape[0], -1, -1)], dim=-1)
        tokens = self.encoder(self.project(x))
        clusters = self.reduce(self.readout(tokens))
        return self.mlp(clusters.flatten(1))

    @classmethod
    def check_array(cls, X: np.ndarray, *, atol: float = 1e-5, name: str = "X") -> None:
        """Refuse inputs that are not stacks of square symmetric matrices.

        Parameters
        ----------
        X : numpy.ndarray
            ``(n_subjects, n_regions, n_regions)`` connectivity matrices.
        atol : float
            Largest accepted ``|X - X^T|``.
        name : str
            The parameter named in the error.

        Raises
        ------
        ValueError
            If ``X`` is not 3-D, not square, or not symmetric (the message gives the
            subject and the largest asymmetry).
        """
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1] != X.shape[2]:
            raise ValueError(f"{name}: expected (n_subjects, n_regions, n_regions) square "
                             f"connectivity matrices, got shape {X.shape}.")
        gap = np.abs(X - X.transpose(0, 2, 1)).reshape(len(X), -1).max(axis=1)
        bad = np.flatnonzero(~(gap <= atol))
        if bad.size:
            raise ValueError(f"{name}: connectivity matrices must be symmetric; subject "
                             f"{bad[0]} differs from its transpose by up to {gap[bad[0]]:.3g} "
                             f"({bad.size} of {len(X)} subjects are not symmetric).")
