"""The standard 10-20 montage under whichever name the installed MNE uses, and the
hemisphere of a 10-20 / 10-10 / 10-05 electrode from its name."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

__all__ = ["standard_montage", "hemisphere_groups"]

_NAME = re.compile(r"^([A-Za-z]+?)(z|Z|\d+)\.*$")


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


def hemisphere_groups(ch_names: Sequence[str]) -> dict[str, list[int]]:
    """Indices of the left, right and midline electrodes of a 10-20 family montage.

    By the 10-20 naming convention an odd number is over the left hemisphere
    (``C3``, ``FC5``), an even one over the right (``C4``, ``T10``) and ``z`` on the
    midline (``Cz``, ``FCz``); trailing dots (EDF names such as ``"Fc5."``) are ignored.
    A permutation inside each group (``channels_shuffle``) never moves a signal to the
    other hemisphere, which is what left/right motor imagery is about.

    Parameters
    ----------
    ch_names : sequence of str
        Electrode names, in the order of the data's channels.

    Returns
    -------
    dict
        ``{"left": [...], "right": [...], "midline": [...]}``, channel indices in
        increasing order.

    Raises
    ------
    ValueError
        If ``ch_names`` is empty, holds a duplicate, or a name that does not end in a
        number or ``z`` (e.g. ``"EOG"``, ``"A1-A2"``).
    """
    names = list(ch_names)
    if not names:
        raise ValueError("ch_names is empty: expected 10-20 electrode names such as 'C3'.")
    if len(set(names)) != len(names):
        raise ValueError(f"ch_names holds duplicates: {names!r}.")
    groups: dict[str, list[int]] = {"left": [], "right": [], "midline": []}
    for index, name in enumerate(names):
        match = _NAME.match(str(name).strip())
        if match is None:
            raise ValueError(f"ch_names[{index}]={name!r} is not a 10-20 electrode name "
                             "(letters then a number or 'z', e.g. 'C3', 'Cz').")
        suffix = match.group(2)
        if suffix in ("z", "Z"):
            groups["midline"].append(index)
        elif int(suffix) == 0:
            raise ValueError(f"ch_names[{index}]={name!r}: electrode number 0 has no "
                             "hemisphere.")
        else:
            groups["left" if int(suffix) % 2 else "right"].append(index)
    return groups
