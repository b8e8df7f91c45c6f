"""Cross-validation splitters of the tracks, as scikit-learn cross-validators.

Each class is a :class:`sklearn.model_selection.BaseCrossValidator`, so it passes
:func:`sklearn.model_selection.check_cv` and can be given as ``cv=`` to
:func:`~sklearn.model_selection.cross_val_score` (with plain arrays and ``groups``), or
its folds (``list(cv.split(windows))``) can.

* :class:`LeaveOneSeizureOut` - one subject's seizure windows: fold k tests on the
  preictal windows of seizure k and the k-th block of interictal time.
* :class:`LeaveOnePatientOut` - one subject (patient) held out per fold.
* :class:`LeaveOneSiteOut` - one acquisition site held out per fold (fMRI).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from .seizure import INTERICTAL, PREICTAL

__all__ = ["LeaveOneSeizureOut", "LeaveOnePatientOut", "LeaveOneSiteOut"]


def _fields(X: Any, names: tuple[str, ...], what: str) -> list[np.ndarray]:
    missing = [n for n in names if not hasattr(X, n)]
    if X is None or missing:
        raise ValueError(f"X must be {what} (an object with arrays {', '.join(names)}); "
                         f"got {type(X).__name__} lacking {missing or list(names)}.")
    arrays = [np.asarray(getattr(X, n)) for n in names]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise ValueError(f"X.{', X.'.join(names)} must be 1-D arrays of one length; got "
                         f"shapes {[a.shape for a in arrays]}.")
    return arrays


def _group_folds(groups: np.ndarray, kind: str, what: str,
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if pd.isna(groups).any():
        raise ValueError(f"{kind}: groups hold {int(pd.isna(groups).sum())} missing "
                         f"(NaN/None) {what} labels; every sample needs one.")
    names = list(dict.fromkeys(groups.tolist()))
    if len(names) < 2:
        raise ValueError(f"{kind} needs at least 2 {what}, found {len(names)} ({names}).")
    for name in names:
        test = groups == name
        yield np.flatnonzero(~test), np.flatnonzero(test)


def _resolve_groups(X: Any, groups: Any, attr: str, kind: str, what: str) -> np.ndarray:
    """``groups`` when given (checked against ``len(X)``), else the grouping held by X."""
    if groups is None:
        if X is None:
            raise ValueError(f"{kind} needs X ({what}) or groups (one label per sample), "
                             "got neither.")
        if attr == "site" and hasattr(X, "meta"):
            if "site" not in X.meta:
                raise ValueError(f"X.meta has no 'site' column (columns "
                                 f"{list(X.meta.columns)}); pass groups=... instead.")
            return X.meta["site"].astype(str).to_numpy()
        if attr != "site" and hasattr(X, attr):
            return np.asarray(getattr(X, attr))
        raise ValueError(f"{kind}: X ({type(X).__name__}) holds no {what}; pass groups=... "
                         "(one label per sample).")
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per sample), got shape "
                         f"{groups.shape}.")
    n = _n_samples(X)
    if n is not None and n != len(groups):
        raise ValueError(f"groups has {len(groups)} entries but X has {n} samples.")
    return groups


def _n_samples(X: Any) -> int | None:
    """Samples in X: its length, or the length of its labels (a SeizureWindows)."""
    if X is None:
        return None
    if hasattr(X, "__len__"):
        return len(X)
    y = getattr(X, "y", None)
    return None if y is None else len(y)


class LeaveOneSeizureOut(BaseCrossValidator):
    """Leave-one-seizure-out folds of one subject's windows.

    Fold k tests on the preictal windows of seizure k (seizures in increasing id order)
    and on the k-th of as many contiguous blocks of interictal windows (in clock order
    of ``start``); it trains on every other window.

    Examples
    --------
    >>> cv = LeaveOneSeizureOut()
    >>> for train, test in cv.split(windows):  # doctest: +SKIP
    ...     est.fit(windows.X[train], windows.y[train])
    """

    _FIELDS = ("y", "seizure", "start")

    def _folds(self, X: Any) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], int]:
        y, seizure, start = _fields(X, self._FIELDS, "a SeizureWindows")
        ids = np.unique(seizure[(y == PREICTAL) & (seizure >= 0)])
        inter = np.flatnonzero(y == INTERICTAL)
        if len(ids) < 2:
            raise ValueError(f"Leave-one-seizure-out needs at least 2 seizures with "
                             f"preictal windows, found {len(ids)}.")
        if len(inter) < len(ids):
            raise ValueError(f"Found {len(inter)} interictal windows for {len(ids)} "
                             "seizures: each fold needs interictal time to compare against.")
        blocks = np.array_split(inter[np.argsort(start[inter], kind="stable")], len(ids))
        return ids, seizure, blocks, len(y)

    def split(self, X: Any, y: Any = None, groups: Any = None,
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Train and test positions of each fold.

        Parameters
        ----------
        X : SeizureWindows
            Windows of one subject, or any object with ``(n,)`` arrays ``y`` (1
            preictal, 0 interictal), ``seizure`` (seizure id of preictal windows, -1
            otherwise) and ``start`` (window start on the subject's clock, seconds).
        y, groups : None
            Ignored (the labels and seizures are read from ``X``).

        Yields
        ------
        train, test : numpy.ndarray
            Sorted integer positions into the ``n`` windows.

        Raises
        ------
        ValueError
            If ``X`` lacks those arrays, has fewer than 2 seizures with preictal windows,
            or fewer interictal windows than seizures.
        """
        ids, seizure, blocks, n = self._folds(X)
        for k, sid in enumerate(ids):
            test = np.concatenate([np.flatnonzero(seizure == sid), blocks[k]])
            mask = np.ones(n, dtype=bool)
            mask[test] = False
            yield np.flatnonzero(mask), np.sort(test)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds: the seizures of ``X`` with preictal windows.

        Parameters
        ----------
        X : SeizureWindows
            As in :meth:`split` (required).
        y, groups : None
            Ignored.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            As :meth:`split`.
        """
        return len(self._folds(X)[0])


class LeaveOnePatientOut(BaseCrossValidator):
    """Leave-one-subject (patient)-out folds, subjects in order of first appearance.

    The subjects are ``groups`` when given, else ``X.subject`` (a
    :class:`~neuroattn.data.seizure.SeizureWindows`).
    """

    def split(self, X: Any, y: Any = None, groups: Any = None,
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Train and test positions of each fold.

        Parameters
        ----------
        X : SeizureWindows | array-like
            Windows with a ``(n,)`` ``subject`` array, or ``(n, ...)`` samples.
        y : None
            Ignored: the subjects alone define the folds.
        groups : array-like | None
            ``(n,)`` subject of each sample; required when ``X`` has no ``subject``.

        Yields
        ------
        train, test : numpy.ndarray
            Sorted integer positions; each subject is the test set once.

        Raises
        ------
        ValueError
            Without subjects, with ``groups`` not matching ``X`` in length, or with
            fewer than 2 subjects.
        """
        subject = _resolve_groups(X, groups, "subject", "Leave-one-patient-out",
                                  "subjects")
        yield from _group_folds(subject, "Leave-one-patient-out", "subjects")

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds: the distinct subjects (see :meth:`split`).

        Returns
        -------
        int
        """
        subject = _resolve_groups(X, groups, "subject", "Leave-one-patient-out",
                                  "subjects")
        return len(list(_group_folds(subject, "Leave-one-patient-out", "subjects")))


class LeaveOneSiteOut(BaseCrossValidator):
    """Leave-one-site-out folds, sites in order of first appearance.

    The sites are ``groups`` when given, else the ``site`` column of ``X.meta`` (a
    :class:`~neuroattn.data.fmri.RoiTimeSeries`, one sample per subject).
    """

    def split(self, X: Any, y: Any = None, groups: Any = None,
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Train and test positions of each fold.

        Parameters
        ----------
        X : RoiTimeSeries | array-like
            Subjects with a ``site`` metadata column, or ``(n, ...)`` samples.
        y : None
            Ignored: the sites alone define the folds.
        groups : array-like | None
            ``(n,)`` site of each sample; required when ``X`` has no ``meta``.

        Yields
        ------
        train, test : numpy.ndarray
            Sorted integer positions; each site is the test set once.

        Raises
        ------
        ValueError
            Without sites, with ``groups`` not matching ``X`` in length, or with fewer
            than 2 sites.
        """
        sites = _resolve_groups(X, groups, "site", "Leave-one-site-out", "sites")
        yield from _group_folds(sites, "Leave-one-site-out", "sites")

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds: the distinct sites (see :meth:`split`).

        Returns
        -------
        int
        """
        sites = _resolve_groups(X, groups, "site", "Leave-one-site-out", "sites")
        return len(list(_group_folds(sites, "Leave-one-site-out", "sites")))
