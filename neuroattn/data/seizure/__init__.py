"""Continuous recordings with seizures: annotations, streamed windows and labels.

A :class:`SeizureRecording` is one EDF/BDF/FIF file (read lazily by MNE) with its
seizures (onset, offset in seconds from the file start) and its start on the subject's
clock. Seizures come from EDF+ annotations, a CHB-MIT ``chbNN-summary.txt``, a BIDS
``events.tsv`` or a plain table. Windows are streamed from disk chunk by chunk, so
memory does not grow with the recording's length, and labelled by explicit
parameters:

* ``sph_seconds`` - seizure prediction horizon: the gap between the end of the
  preictal period and the onset (an alarm must come at least this early);
* ``sop_seconds`` - seizure occurrence period, the preictal length (default 15 min):
  windows entirely in ``[onset - sph - sop, onset - sph]`` are preictal (label 1);
* ``min_interictal_seconds`` - windows at least this far (default 4 h) from every
  seizure (before its onset and after its offset) are interictal (label 0);
* ``postictal_seconds`` - time after an offset excluded from the preictal period of the
  next seizure.

Every other window (ictal, postictal, the prediction horizon, the grey zone between
preictal and interictal) is labelled -1 and left out: no window is silently
mislabelled.

Modules: ``_reading`` (files, annotations, summaries), ``_chbmit`` (the strict
CHB-MIT summary parser and the subject's clock), ``_channels`` (a declared montage
picked by name in every file: CHB-MIT's montage changes, dummy ``-`` channels and
duplicated ``T8-P8``), ``_annotations`` (which annotation descriptions are seizure
onsets: :data:`SEIZURE_PATTERN`), ``_labels`` (labelling, balancing, and seizures cut
by a file boundary joined into one), ``_windows`` (streaming and extracting windows)
``_store`` (saving and loading them) and ``_lazy`` (reading stored windows by
position, so a fit streaming them from disk keeps its memory flat).
The cross-validation splitters are in :mod:`neuroattn.data.splits`.
"""

from ._annotations import SEIZURE_END_PATTERN
from ._channels import is_dummy_channel, montage_channels
from ._labels import (
    EXCLUDED,
    INTERICTAL,
    PREICTAL,
    SPLIT_SEIZURE_MAX_GAP,
    balanced_indices,
    label_windows,
    subject_seizures,
)
from ._reading import (
    SEIZURE_PATTERN,
    SeizureRecording,
    check_recordings_disjoint,
    check_subject_recordings,
    pick_channel_indices,
    read_chbmit_summary,
    read_edf_seizures,
    read_events_tsv,
    read_raw_lazy,
    read_seizure_table,
)
from ._store import load_windows, save_windows
from ._windows import SeizureWindows, extract_windows, iter_windows, window_starts

__all__ = ["SeizureRecording", "SeizureWindows", "read_raw_lazy", "read_edf_seizures",
           "read_chbmit_summary", "read_events_tsv", "read_seizure_table",
           "check_subject_recordings", "check_recordings_disjoint", "pick_channel_indices",
           "is_dummy_channel", "montage_channels", "subject_seizures", "SPLIT_SEIZURE_MAX_GAP",
           "window_starts",
           "iter_windows", "label_windows", "extract_windows", "balanced_indices",
           "save_windows", "load_windows",
           "SEIZURE_PATTERN", "SEIZURE_END_PATTERN", "PREICTAL", "INTERICTAL", "EXCLUDED"]
