"""Label-free routing initialisation and the closed-form readout of the brain encoder.

* :func:`cluster_voxels`: groups voxels by *where* on the feature grid their responses
  are predictable (a per-token ridge R^2 profile, k-means on the profiles); used to
  initialise the soft assignment of unlabelled voxels to the learned queries.
* :func:`ridge_loo`: ridge with an unpenalised intercept and exact leave-one-out
  choice of alpha per target (SVD), returning the LOO error so that a voxel can also
  choose between queries.
* :func:`fit_ridge_readout`: after the attention is trained, each voxel's readout is
  refitted in closed form on its query's attention-pooled tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["cluster_voxels", "ridge_loo", "banded_ridge_loo", "fit_ridge_readout",
           "BAND_SCALES"]

DEFAULT_ALPHAS = np.logspace(-2, 6, 17)


def cluster_voxels(tokens: np.ndarray, Y: np.ndarray, n_clusters: int, *,
                   n_components: int = 8, max_images: int = 500, alpha: float = 1.0,
                   random_state: int = 0) -> np.ndarray:
    """Cluster voxels by the grid locations whose features predict them.

    Parameters
    ----------
    tokens : numpy.ndarray
        Standardised tokens ``(n_images, n_tokens, dim)``.
    Y : numpy.ndarray
        Standardised responses ``(n_images, n_voxels)`` (NaN allowed: set to 0).
    n_clusters : int
        Number of clusters (queries).
    n_components : int
        Token features are reduced to this many principal components first.
    max_images : int
        Images used (a seeded subsample beyond that).
    alpha : float
        Ridge penalty of the per-token regressions.
    random_state : int
        Seed of the subsample and of k-means.

    Returns
    -------
    numpy.ndarray
        ``(n_voxels,)`` cluster index in ``[0, n_clusters)``.
    """
    from sklearn.cluster import KMeans

    rng = np.random.RandomState(random_state)
    n, n_tok, dim = tokens.shape
    pick = np.sort(rng.choice(n, min(n, max_images), replace=False))
    T = np.asarray(tokens[pick], dtype=np.float64)
    Yc = np.nan_to_num(np.asarray(Y[pick], dtype=np.float64))
    Yc = Yc - Yc.mean(0)
    flat = T.reshape(-1, dim)
    flat = flat - flat.mean(0)
    m = min(n_components, dim)
    _, _, vt = np.linalg.svd(flat[rng.choice(len(flat), min(len(flat), 20000),
                                             replace=False)], full_matrices=False)
    P = T @ vt[:m].T  # (n, n_tok, m)
    P -= P.mean(0)
    energy = (Yc ** 2).sum(0) + 1e-12
    profile = np.empty((Yc.shape[1], n_tok + 1))
    for j in range(n_tok + 1):
        Xj = P[:, j] if j < n_tok else P.mean(1)  # last column: the mean token (global)
        coef = np.linalg.solve(Xj.T @ Xj + alpha * np.eye(m), Xj.T @ Yc)
        profile[:, j] = np.maximum(((Xj @ coef) * Yc).sum(0) / energy, 0.0)
    profile /= profile.sum(1, keepdims=True) + 1e-12
    k = min(n_clusters, len(profile))
    labels = KMeans(k, n_init=4, random_state=random_state).fit_predict(profile)
    return labels.astype(np.int64)


#: Candidate (main band, mean band) scalings of the two-band readout: the mean token
#: (global features) left out, weighted 0.1 ... 10 against the query's own features, or
#: alone (ridge on pooled features, a special case of the readout).
BAND_SCALES = ((1.0, 0.0), (1.0, 0.1), (1.0, 0.3), (1.0, 1.0), (1.0, 3.0), (1.0, 10.0),
               (0.0, 1.0))


def ridge_loo(Z: np.ndarray, Y: np.ndarray, alphas: np.ndarray = DEFAULT_ALPHAS):
    """Ridge per target with an unpenalised intercept; alpha by exact leave-one-out.

    :func:`banded_ridge_loo` with a single band (every column of ``Z``, unscaled).

    Returns
    -------
    tuple of numpy.ndarray
        ``weight`` (on the raw ``Z``), ``bias``, ``alpha`` and ``loo_mse`` per
        target, as :func:`banded_ridge_loo` returns them.
    """
    coef, bias, alpha, loo, _ = banded_ridge_loo(Z, Y, None, ((1.0,),), alphas)
    return coef, bias, alpha, loo


def _loo_path(Zs: np.ndarray, Yc: np.ndarray, alphas: np.ndarray):
    """Exact LOO over ``alphas`` on a centred design: coefficients (on ``Zs``), alpha
    and error of the best penalty per target."""
    n = len(Zs)
    U, s, Vt = np.linalg.svd(Zs, full_matrices=False)
    keep = s > s.max() * 1e-10 if s.size else s > 0
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    UtY = U.T @ Yc
    U2 = U ** 2
    best = np.full(Yc.shape[1], np.inf)
    best_alpha = np.full(Yc.shape[1], alphas[0], dtype=float)
    for a in alphas:
        d = s ** 2 / (s ** 2 + a)
        fitted = U @ (d[:, None] * UtY)
        h = U2 @ d + 1.0 / n
        err = (((Yc - fitted) / np.maximum(1.0 - h, 1e-6)[:, None]) ** 2).mean(0)
        better = err < best
        best[better], best_alpha[better] = err[better], a
    shrink = s[:, None] / (s[:, None] ** 2 + best_alpha[None, :])  # (r, n_targets)
    return (Vt.T @ (shrink * UtY)).T, best_alpha, best


def banded_ridge_loo(Z: np.ndarray, Y: np.ndarray, bands: list[np.ndarray] | None,
                     scales=BAND_SCALES, alphas: np.ndarray = DEFAULT_ALPHAS):
    """Banded ridge per target: band scalings and alpha chosen by exact leave-one-out.

    Scaling a band's (standardised) columns by ``c`` divides its penalty by ``c ** 2``,
    so each candidate of ``scales`` is one relative shrinkage of the bands (0 drops a
    band).

    Parameters
    ----------
    Z : numpy.ndarray
        ``(n_images, n_features)`` design (standardised here).
    Y : numpy.ndarray
        ``(n_images, n_targets)`` responses (no NaN).
    bands : list of numpy.ndarray | None
        Column indices of each band (together all columns); None: one band.
    scales : sequence of tuple of float
        Candidate scalings, one value per band.
    alphas : numpy.ndarray
        Candidate penalties (on standardised, scaled features).

    Returns
    -------
    weight : numpy.ndarray
        ``(n_targets, n_features)`` weights on the raw ``Z``.
    bias : numpy.ndarray
        ``(n_targets,)``.
    alpha : numpy.ndarray
        ``(n_targets,)`` chosen penalty.
    loo_mse : numpy.ndarray
        ``(n_targets,)`` leave-one-out mean squared error at that choice.
    scale_index : numpy.ndarray
        ``(n_targets,)`` index into ``scales`` of the chosen scaling.

    Raises
    ------
    ValueError
        If a scaling does not have one value per band.
    """
    bands = [np.arange(Z.shape[1])] if bands is None else bands
    mz, sd = Z.mean(0), Z.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    Zs = (Z - mz) / sd
    my = Y.mean(0)
    Yc = Y - my
    n_t = Y.shape[1]
    coef_s = np.zeros((n_t, Z.shape[1]))
    best, best_alpha = np.full(n_t, np.inf), np.full(n_t, float(alphas[0]))
    choice = np.zeros(n_t, np.int64)
    for i, scale in enumerate(scales):
        if len(scale) != len(bands):
            raise ValueError(f"scales[{i}] has {len(scale)} values for {len(bands)} bands.")
        col = np.zeros(Z.shape[1])
        for b, c in zip(bands, scale):
            col[b] = c
        cols = np.flatnonzero(col)
        c, a, e = _loo_path(Zs[:, cols] * col[cols], Yc, alphas)
        better = e < best
        if better.any():
            coef_s[better] = 0.0
            coef_s[np.ix_(better, cols)] = c[better] * col[cols]
            best[better], best_alpha[better], choice[better] = e[better], a[better], i
    coef = coef_s / sd  # on raw Z
    bias = my - coef @ mz
    return coef, bias, best_alpha, best, choice


@torch.no_grad()
def readout_design(module: torch.nn.Module, dataset: Any, batch_size: int = 128
                   ) -> np.ndarray:
    """``(n_images, n_queries, n_chans + embed_dim)`` readout features of a dataset."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    out = []
    try:
        for start in range(0, len(dataset), batch_size):
            x = torch.stack([dataset[i][0] for i in
                             range(start, min(start + batch_size, len(dataset)))])
            out.append(module.readout_features(x.to(device)).float().cpu().numpy())
    finally:
        module.train(was_training)
    return np.concatenate(out).astype(np.float64)


def fit_ridge_readout(module: torch.nn.Module, dataset: Any, Y: np.ndarray,
                      voxel_query: np.ndarray, free: np.ndarray, n_labelled: int,
                      alphas: np.ndarray = DEFAULT_ALPHAS, choose_query: bool = True,
                      mean_band: bool = True, rank: int | None = None
                      ) -> dict[str, np.ndarray]:
    """Refit every voxel's readout in closed form and switch the module to it.

    Each voxel reads two bands of its query's :meth:`readout_features`: the query's
    own features (attention-pooled input tokens and output token) and the mean input
    token (global features), each with its own shrinkage (:func:`banded_ridge_loo`,
    scalings :data:`BAND_SCALES`, alpha per voxel by exact leave-one-out); the mean
    band alone is ridge on pooled features.

    Parameters
    ----------
    module : TransformerBrainEncoder
        The trained encoder.
    dataset : torch Dataset
        Training images (standardised tokens).
    Y : numpy.ndarray
        ``(n_images, n_voxels)`` standardised responses (NaN -> 0, the voxel mean).
    voxel_query : numpy.ndarray
        ``(n_voxels,)`` query of each voxel (free voxels: their argmax assignment).
    free : numpy.ndarray
        Indices of the voxels routed through the free queries.
    n_labelled : int
        Queries of labelled groups (the free queries follow).
    alphas : numpy.ndarray
        Candidate penalties.
    choose_query : bool
        Let each free voxel take the free query with the lowest leave-one-out error.
    mean_band : bool
        Offer the mean-token band (False: the query's own features only).
    rank : int | None
        Reduced-rank readout: the weights of the voxels reading one query are
        projected on the top ``rank`` principal directions (over voxels) of their
        fitted training responses. None: full rank.

    Returns
    -------
    dict
        ``alpha``, ``loo_mse``, ``voxel_query`` and ``mean_band_scale`` (the chosen
        weight of the mean band against the query's own band, ``inf`` when alone),
        each ``(n_voxels,)``.
    """
    Z = readout_design(module, dataset)
    Y = np.nan_to_num(np.asarray(Y, dtype=np.float64))
    n_vox, width = Y.shape[1], Z.shape[2]
    n_chans = int(module.n_chans)
    bands = [np.arange(width - n_chans), np.arange(width - n_chans, width)]
    scales = BAND_SCALES if mean_band else ((1.0, 0.0),)
    ratio = np.array([m / a if a else np.inf for a, m in scales])
    weight, bias = np.zeros((n_vox, width)), np.zeros(n_vox)
    alpha, loo = np.zeros(n_vox), np.full(n_vox, np.inf)
    band = np.zeros(n_vox)
    query = np.asarray(voxel_query, dtype=np.int64).copy()
    is_free = np.zeros(n_vox, bool)
    is_free[free] = True

    def solve(q: int, idx: np.ndarray) -> tuple:
        w, b, a, e, c = banded_ridge_loo(Z[:, q], Y[:, idx], bands, scales, alphas)
        return w, b, a, e, ratio[c]

    for q in range(n_labelled):
        idx = np.flatnonzero((query == q) & ~is_free)
        if idx.size:
            weight[idx], bias[idx], alpha[idx], loo[idx], band[idx] = solve(q, idx)
    if free.size and choose_query:
        for q in range(n_labelled, Z.shape[1]):
            w, b, a, e, c = solve(q, free)
            better = e < loo[free]
            sel = free[better]
            weight[sel], bias[sel], alpha[sel], loo[sel], band[sel] = (
                w[better], b[better], a[better], e[better], c[better])
            query[sel] = q
    elif free.size:
        for q in np.unique(query[free]):
            idx = free[query[free] == q]
            weight[idx], bias[idx], alpha[idx], loo[idx], band[idx] = solve(q, idx)
    if rank is not None:
        for q in np.unique(query):
            idx = np.flatnonzero(query == q)
            if idx.size > rank:
                weight[idx], bias[idx] = _reduce_rank(Z[:, q], Y[:, idx], weight[idx], rank)
    param = next(module.parameters())
    module.set_ridge_readout(torch.as_tensor(weight, dtype=param.dtype, device=param.device),
                             torch.as_tensor(bias, dtype=param.dtype, device=param.device),
                             torch.as_tensor(query, device=param.device))
    return {"alpha": alpha, "loo_mse": loo, "voxel_query": query, "mean_band_scale": band}


def _reduce_rank(Z: np.ndarray, Y: np.ndarray, weight: np.ndarray, rank: int):
    """Reduced-rank ridge: project ``weight`` ``(n_voxels, width)`` on the top ``rank``
    right singular vectors (voxel space) of the fitted responses ``(Z - mean) @ w.T``."""
    mz = Z.mean(0)
    fitted = (Z - mz) @ weight.T
    _, _, vt = np.linalg.svd(fitted, full_matrices=False)
    proj = vt[:rank].T @ vt[:rank]  # (n_voxels, n_voxels)
    weight = proj @ weight
    return weight, Y.mean(0) - weight @ mz
