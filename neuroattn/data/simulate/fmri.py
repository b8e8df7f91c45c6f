"""Simulated ROI time series with planted networks and a planted group difference."""

from __future__ import annotations

import numpy as np

from ..fmri import RoiTimeSeries, roi_timeseries_from_arrays
from ._noise import pink_noise

__all__ = ["simulate_fmri_rois"]


def simulate_fmri_rois(n_subjects: int = 60, *, n_regions: int = 20, n_networks: int = 4,
                       n_timepoints: int = 120, t_r: float = 2.0, n_sites: int = 3,
                       network_strength: float = 0.6, coupling: float = 0.6,
                       coupled_networks: tuple[int, int] = (0, 1),
                       site_noise: float = 0.3, random_state: int | None = None,
                       ) -> RoiTimeSeries:
    """Simulate ROI series of two groups that differ in the coupling of two networks.

    Regions are split into ``n_networks`` contiguous networks. Each network has one
    slow latent signal (1/f noise); a region's series is ``sqrt(network_strength)``
    times its network's signal plus independent 1/f noise, so regions of one network
    correlate at about ``network_strength`` and regions of different networks do not.
    In group 1 the latent signal of network ``coupled_networks[1]`` is mixed with that
    of ``coupled_networks[0]`` (correlation ``coupling``); in group 0 they are
    independent. Each site scales its noise by a random factor (``site_noise``) so
    that leave-site-out evaluation has something to generalise over. Groups are
    balanced within every site.

    Parameters
    ----------
    n_subjects : int
        Number of subjects (at least 2 per site).
    n_regions : int
        Regions, at least 2 per network.
    n_networks : int
        Networks (at least 2).
    n_timepoints : int
        Samples per series.
    t_r : float
        Repetition time in seconds.
    n_sites : int
        Sites, named ``"site-0"``, ``"site-1"``, ...
    network_strength : float
        Share of a region's variance from its network, in (0, 1).
    coupling : float
        Correlation of the two coupled networks' latent signals in group 1, in [0, 1).
    coupled_networks : tuple of int
        The two networks whose coupling differs between groups.
    site_noise : float
        Spread (log scale) of the per-site noise amplitude.
    random_state : int | None
        Seed.

    Returns
    -------
    RoiTimeSeries
        Series z-scored per region; ``meta["label"]`` is the group (0/1);
        ``region_coords`` place each network in its own cluster of MNI space;
        ``truth`` holds ``"networks"`` ``(n_regions,)`` (network of each region),
        ``"coupled_networks"``, ``"coupling"`` and ``"connectivity"`` ``(2, n_regions,
        n_regions)``, the expected correlation matrices of groups 0 and 1.

    Raises
    ------
    ValueError
        If a size is too small or a strength is out of range.
    """
    if n_networks < 2 or n_regions < 2 * n_networks:
        raise ValueError(f"Need n_networks >= 2 and at least 2 regions per network, got "
                         f"n_regions={n_regions}, n_networks={n_networks}.")
    if n_sites < 1 or n_subjects < 2 * n_sites:
        raise ValueError(f"Need at least 2 subjects per site (one per group), got "
                         f"n_subjects={n_subjects}, n_sites={n_sites}.")
    if n_timepoints < 8 or t_r <= 0:
        raise ValueError(f"n_timepoints must be >= 8 and t_r > 0 s, got {n_timepoints}, {t_r}.")
    if not 0 < network_strength < 1 or not 0 <= coupling < 1:
        raise ValueError(f"network_strength must be in (0, 1) and coupling in [0, 1), got "
                         f"{network_strength}, {coupling}.")
    a, b = coupled_networks
    if not (0 <= a < n_networks and 0 <= b < n_networks and a != b):
        raise ValueError(f"coupled_networks must be two different networks in "
                         f"[0, {n_networks}), got {coupled_networks}.")
    rng = np.random.default_rng(random_state)
    networks = np.repeat(np.arange(n_networks), int(np.ceil(n_regions / n_networks)))[:n_regions]
    sites = np.arange(n_subjects) % n_sites
    labels = np.zeros(n_subjects, dtype=int)
    for s in range(n_sites):
        idx = np.flatnonzero(sites == s)
        labels[rng.permutation(idx)[: len(idx) // 2]] = 1
    site_scale = np.exp(site_noise * rng.normal(size=n_sites))
    series = []
    for subj in range(n_subjects):
        latent = pink_noise((n_networks, n_timepoints), rng)
        if labels[subj] == 1:
            latent[b] = coupling * latent[a] + np.sqrt(1 - coupling ** 2) * latent[b]
        noise = pink_noise((n_regions, n_timepoints), rng) * site_scale[sites[subj]]
        ts = np.sqrt(network_strength) * latent[networks] + np.sqrt(1 - network_strength) * noise
        series.append(ts.T)
    centres = rng.uniform([-60, -90, -20], [60, 50, 60], size=(n_networks, 3))
    coords = centres[networks] + rng.normal(scale=8.0, size=(n_regions, 3))
    out = roi_timeseries_from_arrays(
        series, t_r=t_r, labels=labels, sites=[f"site-{s}" for s in sites],
        subjects=[f"sim-{i:03d}" for i in range(n_subjects)],
        region_names=[f"net{k}-r{r}" for r, k in enumerate(networks)], region_coords=coords)
    out.truth = {"networks": networks, "coupled_networks": (a, b), "coupling": coupling,
                 "connectivity": _expected_connectivity(networks, network_strength, coupling,
                                                         (a, b))}
    return out


def _expected_connectivity(networks: np.ndarray, strength: float, coupling: float,
                           pair: tuple[int, int]) -> np.ndarray:
    same = (networks[:, None] == networks[None]).astype(float) * strength
    group1 = same.copy()
    cross = np.isin(networks, pair)[:, None] & np.isin(networks, pair)[None] & (
        networks[:, None] != networks[None])
    group1[cross] = strength * coupling
    for m in (same, group1):
        np.fill_diagonal(m, 1.0)
    return np.stack([same, group1])
