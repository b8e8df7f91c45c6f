"""Loaders, converters, windowing and simulators. ``data`` knows nothing of torch modules."""

from ._convert import as_signal_array, check_signal_array, signal_metadata

__all__ = ["as_signal_array", "check_signal_array", "signal_metadata"]
