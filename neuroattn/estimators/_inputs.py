"""Input checks of the neural estimators: arrays, ``mne.Epochs`` and streamed inputs
in, float32 ``(n, n_chans, n_times)`` (or a lazy window array) out, with the fitted
signal attributes ``n_chans_``, ``n_times_``, ``sfreq_``, ``chs_info_``, ``ch_names_``."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from ..data import as_signal_array, check_signal_array
from ..data._convert import _is_epochs, match_channels, select_channels
from ._params import check_amplitude
from ._streaming import LazyWindows, as_lazy, check_lazy

__all__ = ["SignalInputMixin"]


class SignalInputMixin:
    """What :class:`~neuroattn.estimators.NeuroEstimatorMixin` does with ``X`` before
    training or predicting (see :meth:`_validate_X`)."""

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Return float32 ``(n, n_chans, n_times)``; 2-D input is one channel.

        An ``mne.Epochs`` is read in microvolts on its data channels (types eeg, seeg,
        ecog, dbs; channels in ``info["bads"]`` left out, with a warning at ``fit``).
        After ``fit`` it is matched to ``ch_names_`` by name (reordered when needed,
        extra channels left out with a warning) and to ``sfreq_``; when ``fit`` saw
        arrays (no names), only its channel count is checked.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D/3-D numeric and finite, or an ``mne.Epochs`` cannot be
            matched to the channels and sampling rate seen at ``fit``.
        """
        name = type(self).__name__
        lazy = as_lazy(X, name)
        if lazy is not None:  # a memmap or a Dataset: checked chunk-wise, never loaded
            return self._validate_lazy(lazy, X, reset=reset)
        if _is_epochs(X):
            if reset:
                selection = select_channels(X)
                if selection.dropped_message():
                    warnings.warn(f"{name}.fit: {selection.dropped_message()}", UserWarning,
                                  stacklevel=4)
                names = selection.names
            else:
                names, extra = match_channels(X, getattr(self, "ch_names_", None),
                                              getattr(self, "sfreq_", None))
                if extra:
                    warnings.warn(f"{name}: channels of X not seen at fit are left out: "
                                  f"{extra}.", UserWarning, stacklevel=4)
            data = as_signal_array(X, picks=names)
        else:
            data = as_signal_array(X)
        if not hasattr(data, "ndim") or not hasattr(data, "shape"):
            data = np.asarray(data)
        if data.ndim not in (2, 3):
            raise ValueError(
                f"{name} expects X of shape (n_samples, n_chans, n_times) (or 2-D "
                f"(n_samples, n_times) for one channel), got a {data.ndim}-D array of shape "
                f"{tuple(data.shape)}. Reshape your data: one sample is X[None], one "
                "channel X[:, None].")
        dtype = getattr(data, "dtype", None)
        if dtype is not None and np.dtype(dtype).kind == "c":
            raise ValueError(f"Complex data not supported: X has dtype {dtype}; {name} "
                             "needs real-valued signals (take .real, abs() or the phase).")
        if data.ndim == 3:
            # NaN/inf are counted and located by check_signal_array, naming X.
            data = check_array(data, allow_nd=True, dtype=np.float32,
                               ensure_all_finite=False, ensure_min_features=1)
            data = check_signal_array(data, check_flat=reset)
            n_features = data.shape[1] * data.shape[2]
            if reset:
                self.n_features_in_ = n_features
            elif hasattr(self, "n_chans_") and (data.shape[1], data.shape[2]) != (
                    self.n_chans_, self.n_times_):
                raise ValueError(
                    f"X has {data.shape[1]} channels x {data.shape[2]} samples, but "
                    f"{name} was fitted on {self.n_chans_} channels x "
                    f"{self.n_times_} samples.")
        else:  # 2-D: one channel, with scikit-learn's usual messages.
            data = validate_data(self, data, reset=reset, dtype=np.float32,
                                 ensure_all_finite=False)
            data = check_signal_array(data[:, None, :], check_flat=reset)
        self._check_amplitude(data, epochs=_is_epochs(X), reset=reset)
        return data

    def _validate_lazy(self, lazy: LazyWindows, X: Any, *, reset: bool) -> LazyWindows:
        """:meth:`_validate_X` of a streamed input (a ``numpy.memmap`` or a Dataset):
        the same checks, chunk by chunk (see :func:`._streaming.check_lazy`); the
        amplitude from the same bounded sample of windows as for arrays."""
        name = type(self).__name__
        check_lazy(lazy, name, reset=reset, dataset=None if isinstance(X, np.ndarray) else X)
        _, n_chans, n_times = lazy.shape
        if reset:
            self.n_features_in_ = n_chans * n_times
        elif hasattr(self, "n_chans_") and (n_chans, n_times) != (self.n_chans_,
                                                                   self.n_times_):
            raise ValueError(f"X ({lazy.source}) has {n_chans} channels x {n_times} samples, "
                             f"but {name} was fitted on {self.n_chans_} channels x "
                             f"{self.n_times_} samples.")
        self._check_amplitude(lazy, epochs=False, reset=reset)
        return lazy

    def _check_amplitude(self, data: np.ndarray, *, epochs: bool, reset: bool) -> None:
        """Keep (``fit``) or compare (after it) the amplitude of ``X``: see
        :func:`._params.check_amplitude`."""
        check_amplitude(self, data, epochs=epochs, reset=reset)

    def _set_signal_attributes(self, data: np.ndarray, meta: dict[str, Any]) -> None:
        """Fitted ``n_chans_``, ``n_times_``, ``sfreq_``, ``chs_info_``, ``ch_names_``
        from the checked data and ``meta`` (:func:`~neuroattn.data.signal_metadata`'s
        keys, optionally ``ch_names`` when names are known without ``chs_info``)."""
        names = [c["ch_name"] for c in meta["chs_info"]] if meta["chs_info"] else None
        names = names or meta.get("ch_names")
        if names is not None and len(names) != data.shape[1]:
            raise ValueError(f"{len(names)} channel names {list(names)[:10]} describe X, "
                             f"which has {data.shape[1]} channels.")
        self.n_chans_, self.n_times_ = int(data.shape[1]), int(data.shape[2])
        self.sfreq_ = meta["sfreq"]
        self.chs_info_ = meta["chs_info"]
        self.ch_names_ = names

