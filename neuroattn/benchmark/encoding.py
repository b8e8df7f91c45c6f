"""Visual-encoding track: the brain encoder against ridge baselines on one image split.

The splitter is a seeded random hold-out of images (:func:`split_images`); the brain
encoder and the ridge encoders are fitted on the training images
(:func:`compare_encoders`) and scored per voxel on the held-out ones;
:func:`evaluate_encoding` adds the per-region scores table (one row per region, one
column per method), the summary record and, on the simulator, the correlation of the
learned routing maps with the planted ones. ``neuroattn encode`` writes them with
:func:`~neuroattn.benchmark.save_results`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ..data.encoding import FeatureTokens
from ..estimators.encoding import BandedRidgeEncoder, BrainEncoderRegressor, RidgeEncoder
from ..metrics.encoding import summarize_by_region

__all__ = ["split_images", "compare_encoders", "evaluate_encoding"]


def split_images(n_images: int, test_fraction: float = 0.25,
                 random_state: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random hold-out split of images.

    Parameters
    ----------
    n_images : int
        Number of images (>= 3).
    test_fraction : float
        Share of the images held out, in (0, 1); at least 2 images are held out.
    random_state : int | None
        Seed of the permutation.

    Returns
    -------
    train, test : numpy.ndarray
        Sorted image positions, disjoint, covering ``range(n_images)``.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1) or fewer than one training image remains.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    order = np.random.RandomState(random_state).permutation(n_images)
    n_test = max(2, int(round(test_fraction * n_images)))
    if n_test >= n_images:
        raise ValueError(f"n_images={n_images} leaves no training image with "
                         f"test_fraction={test_fraction}.")
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def compare_encoders(X_train: Any, Y_train: Any, X_test: Any, Y_test: Any, *,
                     regions: Any = None, hemispheres: Any = None,
                     encoder: BrainEncoderRegressor | None = None,
                     ridge_poolings: tuple[str, ...] = ("mean", "flatten"),
                     himalaya: bool = False) -> dict[str, Any]:
    """Fit the brain encoder and ridge baselines on the same split; per-voxel r of each.

    Parameters
    ----------
    X_train, X_test : array-like | FeatureTokens
        Features of the training and test images.
    Y_train, Y_test : array-like
        Responses; ``Y_test`` may hold repeats ``(n_images, n_repeats, n_voxels)``,
        then noise-ceiling-normalised r is reported too.
    regions, hemispheres : array-like | None
        Voxel labels (see :meth:`BrainEncoderRegressor.fit`).
    encoder : BrainEncoderRegressor | None
        The encoder to fit (a default one when None).
    ridge_poolings : tuple of str
        Ridge variants (``"mean"``, ``"flatten"``).
    himalaya : bool
        Also fit himalaya's banded ridge (``"himalaya_banded"``: mean-pooled band and
        one band per grid quadrant) and RidgeCV on flattened features
        (``"himalaya_flatten"``), both on 5 contiguous folds with an alpha per voxel.

    Returns
    -------
    dict
        ``r``: model name (``"encoder"``, ``"ridge_mean"``, ``"ridge_flatten"``) to
        per-voxel r ``(n_voxels,)``; ``r_normalized`` likewise when repeats are given
        (else None); ``fit_seconds``: model name to fit time; ``models``: the fitted
        estimators.
    """
    encoder = BrainEncoderRegressor() if encoder is None else encoder
    models: dict[str, Any] = {"encoder": encoder}
    models.update({f"ridge_{p}": RidgeEncoder(pooling=p) for p in ridge_poolings})
    if himalaya:
        models["himalaya_banded"] = BandedRidgeEncoder()
        models["himalaya_flatten"] = RidgeEncoder(pooling="flatten", solver="himalaya")
    out: dict[str, Any] = {"r": {}, "r_normalized": None, "fit_seconds": {}, "models": models}
    repeats = np.ndim(Y_test) == 3
    if repeats:
        out["r_normalized"] = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X_train, Y_train, regions=regions, hemispheres=hemispheres)
        out["fit_seconds"][name] = time.perf_counter() - t0
        out["r"][name] = model.score_voxels(X_test, Y_test, normalize=False)
        if repeats:
            out["r_normalized"][name] = model.score_voxels(X_test, Y_test)
    return out


def _subset(features: FeatureTokens, idx: np.ndarray) -> FeatureTokens:
    return FeatureTokens(features.tokens[idx], features.positions, features.grid_shape)


def evaluate_encoding(features: FeatureTokens, Y: Any, *, Y_repeats: Any = None,
                      regions: Any = None, hemispheres: Any = None,
                      encoder: BrainEncoderRegressor | None = None,
                      test_fraction: float = 0.25, random_state: int | None = 0,
                      routing: Any = None, group_names: Any = None) -> dict[str, Any]:
    """Split the images, fit the brain encoder and the ridge encoders, score per region.

    Parameters
    ----------
    features : FeatureTokens
        Tokens ``(n_images, n_tokens, dim)`` of every image.
    Y : array-like
        ``(n_images, n_voxels)`` responses (the training targets).
    Y_repeats : array-like | None
        ``(n_images, n_repeats, n_voxels)`` repeated responses; when given, the
        held-out images are scored against them (noise-ceiling-normalised r too).
    regions, hemispheres : array-like | None
        ``(n_voxels,)`` voxel labels (see :meth:`BrainEncoderRegressor.fit`).
    encoder : BrainEncoderRegressor | None
        Fitted on the training images of the split (a default one when None).
    test_fraction, random_state
        The image split (:func:`split_images`).
    routing : array-like | None
        ``(n_images, n_groups, n_rows, n_cols)`` planted routing maps (the simulator's);
        with ``group_names``, the learned maps of the held-out images are correlated
        with them.
    group_names : sequence of str | None
        Name of each routing group (``"other"`` is not scored).

    Returns
    -------
    dict
        ``summary``: the record written as JSON (``n_train``, ``n_test``, ``n_voxels``,
        ``mean_r``, ``mean_r_normalized``, ``fit_seconds`` (s), ``r_by_region`` and,
        with ``routing``, ``routing_correlation``); ``table``: a DataFrame of mean r per
        region (rows, index ``group``) and method (columns); ``r``: method to
        per-voxel r ``(n_voxels,)``; ``labels``: region label per voxel; ``train``,
        ``test``: image positions; ``encoder``: the fitted encoder; ``routing_maps``:
        its maps of the held-out images (None without ``routing``).

    Raises
    ------
    ValueError
        If ``features`` is not a FeatureTokens, ``Y`` (or ``Y_repeats``) does not
        have one row per image, ``Y`` is not 2-D or holds NaN/inf, ``Y_repeats`` is not
        3-D with the voxels of ``Y``, ``routing`` comes without ``group_names``, or the
        split is invalid.
    """
    if not isinstance(features, FeatureTokens):
        raise ValueError(f"features must be a FeatureTokens, got {type(features).__name__}.")
    n = features.n_images
    Y = np.asarray(Y)
    for name, arr in (("Y", Y), ("Y_repeats", Y_repeats)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"{name} must have one row per image ({n}), got {len(arr)}.")
    if Y.ndim != 2:
        raise ValueError(f"Y must be (n_images, n_voxels), got shape {Y.shape}.")
    if not np.issubdtype(Y.dtype, np.number) or not np.isfinite(Y).all():
        bad = "not numeric" if not np.issubdtype(Y.dtype, np.number) else \
            f"{int((~np.isfinite(Y)).sum())} NaN/inf values"
        raise ValueError(f"Y (the training responses) must be finite numbers; it holds {bad}.")
    if Y_repeats is not None and (np.ndim(Y_repeats) != 3
                                  or np.shape(Y_repeats)[2] != Y.shape[1]):
        raise ValueError(f"Y_repeats must be (n_images, n_repeats, n_voxels={Y.shape[1]}), "
                         f"got shape {np.shape(Y_repeats)}.")
    if routing is not None:
        if group_names is None:
            raise ValueError("routing needs group_names (the name of each routing group).")
        shape = np.shape(routing)
        if len(shape) < 2 or shape[0] != n or shape[1] != len(group_names):
            raise ValueError(f"routing must be (n_images={n}, n_groups={len(group_names)}, "
                             f"n_tokens), one map per group_names entry; got shape {shape}.")
    train, test = split_images(n, test_fraction, random_state)
    y_test = np.asarray(Y_repeats)[test] if Y_repeats is not None else Y[test]
    encoder = BrainEncoderRegressor() if encoder is None else encoder
    res = compare_encoders(_subset(features, train), Y[train], _subset(features, test),
                           y_test, regions=regions, hemispheres=hemispheres, encoder=encoder)
    labels = np.array(encoder.region_names_, dtype=object)[encoder.voxel_groups_]
    by_region = {name: summarize_by_region(r, labels) for name, r in res["r"].items()}
    summary: dict[str, Any] = {
        "n_train": int(train.size), "n_test": int(test.size), "n_voxels": int(labels.size),
        "mean_r": {k: float(np.nanmean(v)) for k, v in res["r"].items()},
        "mean_r_normalized": ({k: float(np.nanmean(v)) for k, v in
                               res["r_normalized"].items()} if res["r_normalized"] else None),
        "fit_seconds": res["fit_seconds"], "r_by_region": by_region}
    maps = None
    if routing is not None:
        names = list(group_names)
        maps = encoder.routing_maps(_subset(features, test))  # rows: query_names_
        planted = np.asarray(routing)[test]
        summary["routing_correlation"] = {
            g: float(np.corrcoef(maps[:, encoder.region_names_.index(g)].ravel(),
                                 planted[:, i].ravel())[0, 1])
            for i, g in enumerate(names) if g != "other"}
    table = pd.DataFrame(by_region)
    table.index.name = "group"
    return {"summary": summary, "table": table, "r": res["r"], "labels": labels,
            "train": train, "test": test, "encoder": encoder, "routing_maps": maps}
