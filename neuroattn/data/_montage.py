"""The standard 10-20 montage under whichever name the installed MNE uses."""

from __future__ import annotations

import functools

__all__ = ["standard_montage"]


@functools.lru_cache(maxsize=1)
def _montage_name() -> str:
    import mne

    names = mne.channels.get_builtin_montages()
    # MNE 1.13 renamed "standard_1020" to "colin27_1020" (the old name warns).
    return "colin27_1020" if "colin27_1020" in names else "standard_1020"


def standard_montage():
    """Return MNE's built-in 10-20 montage (``mne.channels.DigMontage``), positions in m."""
    import mne

    return mne.channels.make_standard_montage(_montage_name())
