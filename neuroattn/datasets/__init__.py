"""Public datasets by name: data cards, offline-first fetching and loading.

One YAML card a dataset in ``neuroattn/datasets/cards/`` (the repository's top-level
``datasets/`` folder links there) says what the data are, their licence and access
terms, how they are fetched and where they sit in the standard caches (``MNE_DATA``,
nilearn's ``data_dir``). :func:`list_datasets` and :func:`dataset_card` read the cards;
:func:`fetch_dataset` makes the files present (files already there are never fetched
again, and no network call is made); :func:`load_dataset` returns the track's own
object: a MOABB dataset (mi, ssvep), ``SeizureRecording`` lists or ``IEEGClips``
(seizure), ``RoiTimeSeries`` (fmri), ``EncodingResponses`` or nilearn's ``Bunch``
(encoding).

Modules: ``_cards`` (reading and checking cards), ``_fetch`` (file lists and fetchers),
``_load`` (the loaders by track).
"""

from ._cards import CARD_SCHEMA, DataCard, dataset_card, list_datasets
from ._fetch import fetch_dataset
from ._load import load_dataset, read_siena_seizure_list

__all__ = ["CARD_SCHEMA", "DataCard", "dataset_card", "list_datasets", "fetch_dataset",
           "load_dataset", "read_siena_seizure_list"]
