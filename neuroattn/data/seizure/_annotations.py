"""Which annotation descriptions are seizure onsets (and which mark their end).

Descriptions are matched whole (``re.fullmatch`` after stripping spaces), case-
insensitively, against :data:`SEIZURE_PATTERN`. It takes the spellings real datasets
use for a seizure or its onset, and nothing that merely mentions a seizure:

* free text of EDF+/BIDS annotations: ``seizure``, ``Seizure onset``, ``seizure start``,
  ``sz``, ``SZ onset``, ``EEG onset``, ``EEG sz onset``, ``electrographic onset``,
  ``ictal``, optionally numbered (``Seizure 2``, ``SZ #3``);
* the TUH EEG Seizure Corpus (TUSZ) codes: ``seiz`` and the seizure types ``fnsz``,
  ``gnsz``, ``spsz``, ``cpsz``, ``absz``, ``tnsz``, ``cnsz``, ``tcsz``, ``atsz``,
  ``mysz`` (not ``nesz``, a non-epileptic seizure, nor ``bckg``);
* SzCORE / BIDS-epilepsy ``eventType`` values: ``sz`` and ``sz_<type>`` (``sz_foc_a``,
  ``sz_gen_m``, ...).

Not onsets: ``no seizure``, ``Non-seizure artifact``, ``pre-seizure``, ``seizure-free``,
``possible seizure``, ``seizure?``, ``preictal``/``interictal``/``postictal``, and
ends: ``Seizure end``, ``seizure offset``, ``sz end``, ``end of seizure``
(:data:`SEIZURE_END_PATTERN`), which close a zero-duration onset before them. A
description that mentions a seizure but is not taken is reported in one warning per
file, so nothing is skipped unseen.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

__all__ = ["SEIZURE_PATTERN", "SEIZURE_END_PATTERN", "seizures_from_events"]

_NUMBER = r"(?:\s*#?\s*\d+)?"
_EEG = r"(?:eeg|electrographic)\s+(?:sz\s+|seizure\s+)?onset"
_TUSZ = r"seiz|fnsz|gnsz|spsz|cpsz|absz|tnsz|cnsz|tcsz|atsz|mysz"

#: Annotation descriptions taken as seizure onsets, matched whole and case-insensitively.
SEIZURE_PATTERN = (rf"(?i)\s*(?:(?:seizure|sz)(?:\s+(?:onset|start|begin|beginning))?"
                   rf"{_NUMBER}|{_EEG}{_NUMBER}|ictal(?:\s+onset)?{_NUMBER}|{_TUSZ}"
                   r"|sz_[a-z0-9_]+)\s*")

#: Descriptions marking a seizure's end (they close a zero-duration onset before them).
SEIZURE_END_PATTERN = (r"(?i)\s*(?:(?:seizure|sz|eeg|electrographic)(?:\s+(?:sz|seizure))?"
                       rf"\s+(?:end|offset|stop){_NUMBER}|end\s+of\s+(?:seizure|sz))\s*")

_MENTIONS = re.compile(r"(?i)seiz|(?<![a-z])sz|sz(?![a-z])|ictal")


def seizures_from_events(events: Iterable[tuple[float, float, str]], name: str,
                         pattern: str = SEIZURE_PATTERN) -> list[tuple[float, float]]:
    """``(onset, offset)`` seizures from ``(onset, duration, description)`` events.

    An onset with a positive duration ends at ``onset + duration``; a zero-duration
    onset ends at the next end marker (:data:`SEIZURE_END_PATTERN`) before the next
    onset, or 1 s later when there is none.

    Parameters
    ----------
    events : iterable of tuple
        ``(onset s, duration s, description)``, in any order.
    name : str
        The file, named in warnings and errors.
    pattern : str
        Regular expression a description must match whole to be an onset.

    Returns
    -------
    list of tuple of float
        Sorted seizures, seconds.

    Raises
    ------
    ValueError
        If an onset or duration is not a finite number (duration >= 0).
    """
    onset_re, end_re = re.compile(pattern), re.compile(SEIZURE_END_PATTERN)
    events = sorted(events, key=lambda e: e[0])
    skipped: dict[str, int] = {}
    marks = []  # (time, kind, duration)
    for onset, duration, description in events:
        text = str(description)
        is_onset, is_end = onset_re.fullmatch(text), end_re.fullmatch(text)
        if not (is_onset or is_end):
            if _MENTIONS.search(text):
                skipped[text.strip()] = skipped.get(text.strip(), 0) + 1
            continue
        try:
            onset, duration = float(onset), float(duration)
        except (TypeError, ValueError):
            onset = duration = float("nan")
        if not (onset == onset and abs(onset) != float("inf")
                and duration == duration and 0 <= duration < float("inf")):
            raise ValueError(f"{name}: annotation {text!r} has onset {onset} and duration "
                             f"{duration}; expected finite seconds (duration >= 0).")
        marks.append((onset, "onset" if is_onset else "end", duration, text))
    out, used = [], set()
    for i, (t, kind, duration, _) in enumerate(marks):
        if kind != "onset":
            continue
        offset = t + duration if duration > 0 else None
        if offset is None:
            for j in range(i + 1, len(marks)):
                if marks[j][1] == "onset":
                    break
                if marks[j][0] > t:
                    offset = marks[j][0]
                    used.add(j)
                    break
        if offset is None:
            # No duration and no end marker: the offset is unknown. One second is
            # assumed, and said, since the postictal exclusion runs from it.
            warnings.warn(f"{name}: the seizure onset at {t:.3f} s has no duration and no "
                          "end marker; its offset is taken as onset + 1 s.", UserWarning,
                          stacklevel=3)
        out.append((t, t + 1.0 if offset is None else offset))
    for j, (_, kind, _, text) in enumerate(marks):
        if kind == "end" and j not in used:
            skipped[text.strip()] = skipped.get(text.strip(), 0) + 1
    if skipped:
        listed = ", ".join(f"{d!r} x{c}" if c > 1 else repr(d) for d, c in skipped.items())
        warnings.warn(f"{name}: annotations mentioning a seizure were not taken as seizure "
                      f"onsets (ends closing no zero-duration onset included): {listed}. "
                      "Onsets match SEIZURE_PATTERN whole (see "
                      "neuroattn.data.seizure); pass pattern=... to take others.",
                      UserWarning, stacklevel=3)
    return sorted(out)
