"""Base class of every neuroattn model: signal arguments, config, attention weights."""

from __future__ import annotations

import functools
import inspect
from typing import Any, ClassVar

import torch
from torch import nn

from .._docs import fill_doc
from ..nn._registry import RecordsAttention

__all__ = ["NeuroModel"]


@fill_doc
class NeuroModel(nn.Module):
    """Base of all neuroattn architectures.

    Subclasses take braindecode's signal arguments (so they also drop into
    braindecode's ``EEGClassifier``), call ``super().__init__`` with them first, build
    their layers, name their head ``final_layer`` and implement
    :meth:`forward_features` (and, when the head is more than ``final_layer``,
    :meth:`forward_head`). Constructor arguments are recorded automatically so that
    :meth:`get_config` / :meth:`from_config` round-trip.

    Parameters
    ----------
    %(signal_args)s

    Raises
    ------
    ValueError
        If the arguments contradict each other (``n_chans`` vs ``len(chs_info)``,
        ``n_times`` vs ``input_window_seconds * sfreq``) or a required one cannot be
        derived.
    """

    #: Signal arguments a subclass cannot work without.
    _required_signal_args: tuple[str, ...] = ("n_chans", "n_times", "n_outputs")

    #: Small, valid constructor arguments used by the common tests (and docs examples).
    #: Override where the model needs other sizes.
    example_signal_args: ClassVar[dict[str, Any]] = {
        "n_chans": 4, "n_times": 128, "n_outputs": 3, "sfreq": 128.0}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)
        if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
            raise TypeError(f"{cls.__name__}.__init__ must not take **kwargs: they swallow "
                            "typos and break get_config().")

        @functools.wraps(init)
        def recording_init(self, *args: Any, **kw: Any) -> None:
            if "_config" not in self.__dict__:  # outermost constructor records
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                config = dict(bound.arguments)
                config.pop("self")
                object.__setattr__(self, "_config", config)
            init(self, *args, **kw)

        cls.__init__ = recording_init

    def __init__(self, n_chans: int | None = None, n_times: int | None = None,
                 n_outputs: int | None = None, sfreq: float | None = None,
                 chs_info: list[dict] | None = None,
                 input_window_seconds: float | None = None) -> None:
        super().__init__()
        if chs_info is not None:
            if n_chans is not None and n_chans != len(chs_info):
                raise ValueError(f"n_chans={n_chans} contradicts chs_info, which describes "
                                 f"{len(chs_info)} channels.")
            n_chans = len(chs_info)
        if input_window_seconds is not None and sfreq is not None:
            derived = int(round(input_window_seconds * sfreq))
            if n_times is not None and n_times != derived:
                raise ValueError(f"n_times={n_times} contradicts input_window_seconds="
                                 f"{input_window_seconds} at sfreq={sfreq} Hz "
                                 f"({derived} samples).")
            n_times = derived
        if input_window_seconds is None and n_times is not None and sfreq:
            input_window_seconds = n_times / sfreq
        for name, value in (("n_chans", n_chans), ("n_times", n_times),
                            ("n_outputs", n_outputs)):
            if value is None:
                if name in self._required_signal_args:
                    raise ValueError(f"{type(self).__name__} needs {name}; pass it (or "
                                     "chs_info / input_window_seconds with sfreq).")
            elif int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if sfreq is not None and sfreq <= 0:
            raise ValueError(f"sfreq must be positive (Hz), got {sfreq}.")
        self.n_chans, self.n_times, self.n_outputs = n_chans, n_times, n_outputs
        self.sfreq, self.chs_info = sfreq, chs_info
        self.input_window_seconds = input_window_seconds

    # ----------------------------------------------------------------- forward API
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, n_chans, n_times)`` inputs to pooled features ``(batch, dim)``."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Map features to ``(batch, n_outputs)`` outputs (logits for classifiers)."""
        return self.final_layer(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(batch, n_outputs)`` for inputs ``(batch, n_chans, n_times)``."""
        self._check_input(x)
        return self.forward_head(self.forward_features(x))

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} expects (batch, n_chans, n_times) "
                             f"inputs, got shape {tuple(x.shape)}.")
        if self.n_chans is not None and x.shape[1] != self.n_chans:
            raise ValueError(f"{type(self).__name__} was built for {self.n_chans} channels, "
                             f"got {x.shape[1]}.")

    @classmethod
    def check_array(cls, X: Any, *, name: str = "X") -> None:
        """Model-specific checks of a whole training or prediction array, before training.

        The estimators call it on the validated ``(n_samples, n_chans, n_times)`` array
        at ``fit`` and ``predict``. The base class accepts everything; a model whose
        inputs have more structure (square symmetric connectomes, say) overrides it.

        Parameters
        ----------
        X : numpy.ndarray
            ``(n_samples, n_chans, n_times)`` inputs.
        name : str
            The parameter named in an error.

        Raises
        ------
        ValueError
            In subclasses, naming ``name`` and what was expected.
        """

    def example_input(self, batch_size: int = 2,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """A random input batch of the shape ``forward`` expects.

        ``(batch_size, n_chans, n_times)`` by default; models whose inputs differ
        (tokens of image features, say) override it.
        """
        return torch.randn(batch_size, self.n_chans, self.n_times, generator=generator)

    def example_loss(self, x: torch.Tensor) -> torch.Tensor:
        """A scalar loss through every parameter, used by the common gradient test.

        Defaults to the mean square of ``forward(x)``; a model with parameters outside
        ``forward`` (a decoder used only in pretraining, say) overrides it so that
        they are exercised too.
        """
        return self(x).square().mean()

    # -------------------------------------------------------------- configuration
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments of this model (defaults filled in).

        ``type(model).from_config(model.get_config())`` builds an identical
        architecture (weights not included; use ``state_dict`` for those).
        """
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NeuroModel:
        """Build a model from :meth:`get_config` output."""
        return cls(**config)

    # ------------------------------------------------------------- interpretation
    @torch.no_grad()
    def get_attention_weights(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run ``x`` in eval mode and return every attention module's weights.

        Parameters
        ----------
        x : torch.Tensor
            Input ``(batch, n_chans, n_times)``.

        Returns
        -------
        dict of str to torch.Tensor
            Module name (as in ``named_modules``) to the weights it computed, whose
            shape each attention block documents (e.g. ``(batch, n_heads, n_query,
            n_key)`` for multi-head attention, ``(batch, in_channels)`` for a
            channel-attention block).
        """
        recorders = [(name, m) for name, m in self.named_modules()
                     if isinstance(m, RecordsAttention)]
        was_training = self.training
        self.eval()
        try:
            for _, m in recorders:
                m.record_attention, m.last_attention = True, None
            self(x)
            return {name: m.last_attention for name, m in recorders
                    if m.last_attention is not None}
        finally:
            for _, m in recorders:
                m.record_attention, m.last_attention = False, None
            self.train(was_training)
