"""Stimulus features and voxel responses for visual encoding models (numpy only).

Images (arrays or files) become float arrays; feature maps (computed elsewhere, e.g. by
:func:`neuroattn.estimators.extract_features`, or loaded from disk) become *tokens*
``(n_images, n_tokens, dim)`` with their grid positions; responses become
``(n_images, n_voxels)`` with a region label (and hemisphere) per voxel. Loaders read
the Algonauts 2023 challenge layout from a local folder and NSD-style beta volumes
through nilearn. Nothing is downloaded and no torch module is run here: ``data`` knows
nothing of torch modules.

Algonauts 2023 layout (as distributed; pass its root to :func:`load_algonauts2023`)::

    <root>/subj01/training_split/training_fmri/lh_training_fmri.npy   (n_images, n_lh)
    <root>/subj01/training_split/training_fmri/rh_training_fmri.npy   (n_images, n_rh)
    <root>/subj01/training_split/training_images/train-0001_nsd-00013.png ...
    <root>/subj01/roi_masks/lh.<family>_challenge_space.npy           (n_lh,) int codes
    <root>/subj01/roi_masks/mapping_<family>.npy                      {code: name}

Modules: ``_images`` (images, feature tokens), ``_cache`` (the checked on-disk feature
cache) and ``_responses`` (voxel responses, region labels and the Algonauts 2023 / NSD
loaders).
"""

from ._cache import feature_cache_key, file_sha256, open_feature_cache
from ._images import (
    FeatureTokens,
    as_feature_tokens,
    check_finite_tokens,
    grid_positions,
    list_image_files,
    load_images,
    load_npy,
)
from ._responses import (
    ALGONAUTS_ROI_FAMILIES,
    UNLABELLED,
    EncodingResponses,
    check_encoding_data,
    load_algonauts2023,
    region_groups,
    responses_from_volumes,
)

__all__ = ["UNLABELLED", "FeatureTokens", "EncodingResponses", "load_images",
           "grid_positions", "as_feature_tokens", "check_finite_tokens",
           "open_feature_cache", "feature_cache_key", "file_sha256", "load_npy",
           "check_encoding_data", "region_groups", "load_algonauts2023",
           "responses_from_volumes", "ALGONAUTS_ROI_FAMILIES", "list_image_files"]
