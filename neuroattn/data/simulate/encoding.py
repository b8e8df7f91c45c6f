"""Simulated image-evoked voxel responses with a planted region-to-image routing.

Real images (scikit-learn's handwritten digits, four to an image) go through a small
random-init convolutional backbone written in numpy (``data`` runs no torch module).
Each brain region reads its features through a known *routing map* over the feature
grid: a *location* region reads a fixed Gaussian spot of the visual field (left
hemisphere regions the right visual field and vice versa), a *content* region reads
wherever the features look like one digit class (an image-dependent map). Each voxel
is a random linear readout of its region's routed feature vector, plus noise at a
known noise ceiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..encoding import UNLABELLED, grid_positions

__all__ = ["simulate_encoding", "digit_mosaics", "random_conv_features", "PLANTED_TRUTHS"]

#: Named planted truths: keyword presets of :func:`simulate_encoding` (``routing`` and
#: ``response``). Linear in local features (location-routed regions), in global
#: features (every region reads the mean token), content-routed, non-linear
#: (products / rectified projections of the routed features) and a mixture of
#: linear and non-linear voxels over location and content regions.
PLANTED_TRUTHS = {
    "linear_local": {"routing": "location", "response": "linear"},
    "linear_global": {"routing": "global", "response": "linear"},
    "content": {"routing": "content", "response": "linear", "content_classes": (0, 3)},
    "nonlinear": {"routing": "mixed", "response": "nonlinear"},
    "mixture": {"routing": "mixed", "response": "mixture"},
}
_ROUTINGS = ("mixed", "location", "content", "global")
_RESPONSES = ("linear", "nonlinear", "mixture")


def digit_mosaics(n_images: int, *, image_size: int = 32,
                  random_state: int | np.random.RandomState | None = None):
    """Images of 2 x 2 handwritten digits (scikit-learn's ``load_digits``), upsampled.

    Parameters
    ----------
    n_images : int
        Number of images.
    image_size : int
        Side of the square image in pixels; a multiple of 16 (each 8 x 8 digit is
        upsampled by ``image_size // 16`` into its quadrant).
    random_state : int | RandomState | None
        Seed of the digit choice.

    Returns
    -------
    images : numpy.ndarray
        float32 ``(n_images, 1, image_size, image_size)`` in [0, 1].
    digit_classes : numpy.ndarray
        ``(n_images, 2, 2)`` digit class in each quadrant (row, column).
    """
    from sklearn.datasets import load_digits

    if image_size < 16 or image_size % 16:
        raise ValueError(f"image_size must be a positive multiple of 16, got {image_size}.")
    if n_images < 1:
        raise ValueError(f"n_images must be >= 1, got {n_images}.")
    rng = check_random_state(random_state)
    digits = load_digits()
    pick = rng.randint(0, len(digits.images), size=(n_images, 2, 2))
    up = image_size // 16
    tiles = np.kron(digits.images[pick] / 16.0, np.ones((up, up)))  # (n, 2, 2, q, q)
    q = 8 * up
    images = tiles.transpose(0, 1, 3, 2, 4).reshape(n_images, 2 * q, 2 * q)
    return images[:, None].astype(np.float32), digits.target[pick]


def random_conv_features(images: np.ndarray, *, n_features: int = 16, kernel_size: int = 5,
                         pool: int = 4, random_state: int | np.random.RandomState | None = 0
                         ) -> np.ndarray:
    """A random-init conv backbone in numpy: conv, ReLU, average pooling.

    Parameters
    ----------
    images : numpy.ndarray
        ``(n_images, n_colors, H, W)``.
    n_features : int
        Filters (token width).
    kernel_size : int
        Filter size (odd), zero padding keeps the size.
    pool : int
        Average-pooling factor; the grid is ``(H // pool, W // pool)``.
    random_state : int | RandomState | None
        Seed of the filters (fixed by default: the same backbone every call).

    Returns
    -------
    numpy.ndarray
        float32 feature maps ``(n_images, n_features, H // pool, W // pool)``.
    """
    rng = check_random_state(random_state)
    n, c, h, w = images.shape
    if h % pool or w % pool:
        raise ValueError(f"Image size {h} x {w} is not a multiple of pool={pool}.")
    filters = rng.standard_normal((n_features, c, kernel_size, kernel_size))
    filters -= filters.mean(axis=(1, 2, 3), keepdims=True)  # edge-like: no DC response
    filters /= np.sqrt((filters ** 2).sum(axis=(1, 2, 3), keepdims=True))
    bias = rng.uniform(0.0, 0.3, n_features)
    p = kernel_size // 2
    padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel_size, kernel_size),
                                                       axis=(2, 3))  # n,c,h,w,k,k
    maps = np.einsum("nchwij,fcij->nfhw", windows, filters) + bias[:, None, None]
    maps = np.maximum(maps, 0.0)
    maps = maps.reshape(n, n_features, h // pool, pool, w // pool, pool).mean(axis=(3, 5))
    return maps.astype(np.float32)


def simulate_encoding(n_images: int = 240, *, n_voxels_per_region: int = 16,
                      n_location_regions: int = 2, content_classes: tuple[int, ...] = (0,),
                      n_unlabelled_voxels: int = 16, n_repeats: int = 3,
                      noise_ceiling: float = 0.8, image_size: int = 32, n_features: int = 16,
                      pool: int = 4, location_width: float = 1.0, content_sharpness: float = 4.0,
                      routing: str = "mixed", response: str = "linear",
                      feature_fn: Any = None,
                      random_state: int | np.random.RandomState | None = None) -> Bunch:
    """Simulate voxel responses to digit images with a planted routing per region.

    Regions come in both hemispheres. Location region ``k`` of the left hemisphere
    (``"loc<k>_lh"``) reads a Gaussian spot (width ``location_width`` grid cells) in
    the right half of the feature grid, its right-hemisphere twin the mirror spot.
    Content region ``"digit<c>"`` reads features with a softmax routing map that peaks
    where the tokens look like digit class ``c`` (its detector is the mean token of
    class-``c`` quadrants minus the mean token). Unlabelled voxels (``"other"``) read
    the mean token. With ``response="linear"`` each voxel is ``w_v . g_r`` where ``g_r =
    sum_j A_r[j] f_j`` is its region's routed feature vector (standardised per
    feature); ``"nonlinear"`` voxels are alternately a product ``(a_v . g_r)(b_v .
    g_r)`` and a rectified projection ``max(a_v . g_r - 0.5, 0)``; ``"mixture"`` voxels
    alternate linear and non-linear. The signal is standardised and every repeat adds
    Gaussian noise such that the correlation of the noiseless signal with the repeat
    average is ``noise_ceiling`` (see :data:`PLANTED_TRUTHS` for named presets).

    Parameters
    ----------
    n_images : int
        Images (digit mosaics, see :func:`digit_mosaics`).
    n_voxels_per_region : int
        Voxels in each region and hemisphere.
    n_location_regions : int
        Location regions per hemisphere (spots spread over the hemifield).
    content_classes : tuple of int
        Digit classes with a content region (per hemisphere).
    n_unlabelled_voxels : int
        Voxels outside every region.
    n_repeats : int
        Presentations per image.
    noise_ceiling : float
        Correlation in (0, 1] between the noiseless signal and the repeat average.
    image_size, n_features, pool
        Image side (pixels), backbone width and pooling (grid side is
        ``image_size // pool``).
    location_width : float
        Gaussian width of location spots, in grid cells.
    content_sharpness : float
        Inverse temperature of content routing maps (on z-scored detector scores).
    routing : {"mixed", "location", "content", "global"}
        Regions present: location and content (``"mixed"``), location only, content
        only (one content region per class of ``content_classes``), or the location
        and content regions all reading the mean token (``"global"``: linear in
        global features, nothing to route).
    response : {"linear", "nonlinear", "mixture"}
        Voxel response to its routed features (see above).
    feature_fn : callable | None
        ``images (n, 1, S, S) float32 -> feature maps (n, C, G, G)``, e.g. a
        random-init torchvision / timm backbone run by the caller (the ``data`` layer
        runs no torch module itself); None: :func:`random_conv_features`.
    random_state : int | RandomState | None
        Seed of images, spots, voxel weights and noise.

    Returns
    -------
    sklearn.utils.Bunch
        ``images`` ``(n, 1, S, S)``; ``feature_maps`` ``(n, n_features, G, G)``;
        ``features`` tokens ``(n, G*G, n_features)``; ``positions`` ``(G*G, 2)``;
        ``grid_shape``; ``Y`` ``(n, n_voxels)`` repeat means; ``Y_repeats`` ``(n,
        n_repeats, n_voxels)``; ``signal`` noiseless ``(n, n_voxels)``; ``regions``
        and ``hemispheres`` ``(n_voxels,)``; ``group_names`` (``"loc0_lh"``, ...,
        ``"other"``); ``routing`` ``(n, n_groups, G*G)`` planted maps (rows sum to 1);
        ``routed_groups`` names of the location/content groups; ``noise_ceiling``
        ``(n_voxels,)``; ``coords`` fake MNI positions ``(n_voxels, 3)`` in mm;
        ``digit_classes`` ``(n, 2, 2)``; ``routing_kind`` (``"location"``,
        ``"content"``, ``"global"`` per group name) and ``response`` (``"linear"``,
        ``"product"``, ``"rectified"`` per voxel): the planted truth.

    Raises
    ------
    ValueError
        If ``noise_ceiling``, ``routing``, ``response`` or a count is out of range, or
        ``feature_fn`` returns no ``(n, C, G, G)`` square maps.
    """
    if not 0 < noise_ceiling <= 1:
        raise ValueError(f"noise_ceiling must be in (0, 1], got {noise_ceiling}.")
    if routing not in _ROUTINGS:
        raise ValueError(f"routing must be one of {_ROUTINGS}, got {routing!r}.")
    if response not in _RESPONSES:
        raise ValueError(f"response must be one of {_RESPONSES}, got {response!r}.")
    if routing == "location":
        content_classes = ()
    elif routing == "content":
        n_location_regions = 0
        if not content_classes:
            raise ValueError("routing='content' needs content_classes.")
    if n_repeats < 1 or n_voxels_per_region < 1:
        raise ValueError("n_repeats and n_voxels_per_region must be >= 1.")
    rng = check_random_state(random_state)
    images, classes = digit_mosaics(n_images, image_size=image_size, random_state=rng)
    if feature_fn is None:
        maps = random_conv_features(images, n_features=n_features, pool=pool, random_state=0)
    else:
        maps = np.asarray(feature_fn(images), dtype=np.float32)
        if maps.ndim != 4 or len(maps) != n_images or maps.shape[2] != maps.shape[3]:
            raise ValueError("feature_fn must return square feature maps (n_images="
                             f"{n_images}, C, G, G); got shape {maps.shape}.")
        n_features = maps.shape[1]
    g = maps.shape[-1]
    tokens = np.ascontiguousarray(maps.reshape(n_images, n_features, g * g).transpose(0, 2, 1))
    pos = grid_positions(g, g)

    names, routing_maps, kinds = [], [], {}
    routing_kind = routing
    routing = routing_maps
    for hemi, side in (("lh", 1), ("rh", -1)):
        for k in range(n_location_regions):
            # lh reads the right hemifield (columns > centre), rh the mirror image.
            row = (k + 0.5) * g / n_location_regions - 0.5
            col = (g - 1) / 2 + side * g / 4
            d2 = ((pos - [row, col]) ** 2).sum(axis=1)
            spot = np.exp(-d2 / (2 * location_width ** 2))
            names.append(f"loc{k}_{hemi}")
            kinds[names[-1]] = "location"
            routing.append(np.broadcast_to(spot / spot.sum(), (n_images, g * g)))
        for c in content_classes:
            names.append(f"digit{c}_{hemi}")
            kinds[names[-1]] = "content"
            routing.append(_content_routing(tokens, classes, c, content_sharpness))
    if routing_kind == "global":
        routing = [np.full((n_images, g * g), 1.0 / (g * g)) for _ in routing]
        kinds = {k: "global" for k in kinds}
    routed = list(names)
    if n_unlabelled_voxels:
        names.append(UNLABELLED)
        kinds[UNLABELLED] = "global"
        routing.append(np.full((n_images, g * g), 1.0 / (g * g)))
    routing = np.stack(routing, axis=1).astype(np.float32)  # (n, n_groups, n_tokens)
    routed_tokens = np.einsum("nrj,njf->nrf", routing, tokens)
    routed_tokens = (routed_tokens - routed_tokens.mean(0)) / (routed_tokens.std(0) + 1e-8)

    sizes = [n_voxels_per_region] * len(routed) + ([n_unlabelled_voxels]
                                                   if n_unlabelled_voxels else [])
    group = np.repeat(np.arange(len(names)), sizes)
    weights = rng.standard_normal((group.size, n_features))
    signal, kind = _voxel_signal(routed_tokens, group, weights, response, rng)
    # corr(signal, signal + e) = 1/sqrt(1 + var(e)) with var(e) = sigma^2 / n_repeats.
    sigma = np.sqrt(n_repeats * (1.0 / noise_ceiling ** 2 - 1.0))
    Y_rep = signal[:, None, :] + sigma * rng.standard_normal((n_images, n_repeats, group.size))

    regions = np.array([n.rsplit("_", 1)[0] if n != UNLABELLED else n for n in names],
                       dtype=object)[group]
    hemis = np.array([n.rsplit("_", 1)[1] if n != UNLABELLED else "lh" for n in names],
                     dtype=object)[group]
    if n_unlabelled_voxels:
        hemis[group == len(names) - 1] = np.where(
            np.arange(n_unlabelled_voxels) % 2, "rh", "lh")
    coords = _fake_coords(group, hemis, rng)
    return Bunch(images=images, feature_maps=maps, features=tokens, positions=pos,
                 grid_shape=(g, g), Y=Y_rep.mean(1).astype(np.float32),
                 Y_repeats=Y_rep.astype(np.float32), signal=signal.astype(np.float32),
                 regions=regions, hemispheres=hemis, group_names=names, group=group,
                 routing=routing, routed_groups=routed,
                 noise_ceiling=np.full(group.size, noise_ceiling, np.float32),
                 coords=coords, digit_classes=classes,
                 routing_kind=kinds, response=kind)


def _voxel_signal(routed: np.ndarray, group: np.ndarray, weights: np.ndarray,
                  response: str, rng: np.random.RandomState):
    """Standardised noiseless signal ``(n, n_voxels)`` and the response kind per voxel."""
    n_vox, n_feat = weights.shape
    a = weights / np.sqrt(n_feat)
    lin = np.einsum("nvf,vf->nv", routed[:, group], a)
    kind = np.array(["linear"] * n_vox, dtype=object)
    if response != "linear":
        b = rng.standard_normal((n_vox, n_feat)) / np.sqrt(n_feat)
        proj_b = np.einsum("nvf,vf->nv", routed[:, group], b)
        nonlin = np.where(np.arange(n_vox) % 2 == 0, lin * proj_b, np.maximum(lin - 0.5, 0))
        nl_kind = np.where(np.arange(n_vox) % 2 == 0, "product", "rectified")
        # "mixture": every other pair of voxels stays linear.
        use = np.ones(n_vox, bool) if response == "nonlinear" else (np.arange(n_vox) // 2) % 2 == 1
        lin = np.where(use, nonlin, lin)
        kind = np.where(use, nl_kind, kind).astype(object)
    std = lin.std(0)
    return (lin - lin.mean(0)) / np.where(std > 0, std, 1.0), kind


def _content_routing(tokens: np.ndarray, classes: np.ndarray, c: int,
                     sharpness: float) -> np.ndarray:
    n, n_tok, _ = tokens.shape
    g = int(round(np.sqrt(n_tok)))
    quadrant = (np.arange(g)[:, None] >= g // 2) * 2 + (np.arange(g)[None, :] >= g // 2)
    is_c = (classes.reshape(n, 4)[:, quadrant.ravel()] == c)  # (n, n_tokens)
    mean = tokens.mean(axis=(0, 1))
    detector = (tokens[is_c].mean(0) - mean) if is_c.any() else np.zeros_like(mean)
    score = (tokens - mean) @ detector
    score = (score - score.mean()) / (score.std() + 1e-12)
    logits = sharpness * score
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def _fake_coords(group: np.ndarray, hemis: np.ndarray,
                 rng: np.random.RandomState) -> np.ndarray:
    """Occipito-temporal MNI-like positions: one cluster per group (x < 0 for lh)."""
    n_groups = group.max() + 1
    centres = np.stack([28 + 4 * np.arange(n_groups), -92 + 9 * np.arange(n_groups),
                        -4 + 2 * (np.arange(n_groups) % 3)], axis=1).astype(float)
    xyz = centres[group] + rng.normal(0, 2.5, (group.size, 3))
    xyz[:, 0] *= np.where(hemis == "lh", -1, 1)
    return xyz.astype(np.float32)
