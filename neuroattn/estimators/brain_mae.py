"""``BrainMAEPretrainer``: self-supervised BrainMAE as a scikit-learn transformer."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from skorch.utils import to_tensor

from .._docs import fill_estimator_doc
from ..data._convert import check_signal_array
from ..data.fmri import RoiTimeSeries, Segments, segment_series
from ._accelerate import forward_through, unwrap
from ._base import TRAINING_CONSTRAINTS, NeuroEstimatorMixin
from ._nets import _Net
from ._streaming import LazyWindows, WindowDataset, as_lazy, check_lazy
from .neural import NeuroClassifier, NeuroRegressor

__all__ = ["BrainMAEPretrainer", "InitFromPretrained"]


class _MAENet(_Net):
    """skorch net whose forward pass is ``forward_masked`` and loss the weighted MSE.

    Trained through the accelerator like every net (autocast, ``accelerator.backward``,
    accumulation, clipping callbacks); ``forward_masked`` runs as the prepared model's
    forward, so under ``accelerate launch`` gradients are averaged across processes
    (the classification head, unused here, is allowed: ``find_unused_parameters``).
    """

    find_unused_parameters = True

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        model = unwrap(self.module_)
        return forward_through(self.module_, model.forward_masked, x)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        x = to_tensor(X, device=self.device)
        return unwrap(self.module_).reconstruction_loss(x, *y_pred)


class InitFromPretrained(Callback):
    """skorch callback loading pretrained BrainMAE weights when training begins.

    Every weight except the head (``final_layer``) is copied into the freshly built
    model, so a :class:`~neuroattn.estimators.NeuroClassifier` (or regressor) starts
    from the pretrained encoder. Made by :meth:`BrainMAEPretrainer.init_callback`.

    Parameters
    ----------
    state_dict : dict of str to torch.Tensor
        Pretrained weights (``module.state_dict()``).

    Raises
    ------
    ValueError
        At ``fit``, if the new model's architecture (regions, segment length, widths)
        does not match the weights.
    """

    def __init__(self, state_dict: dict[str, torch.Tensor]) -> None:
        self.state_dict = state_dict

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        target = net.module_.state_dict()
        weights = {k: v for k, v in self.state_dict.items() if not k.startswith("final_layer")}
        bad = [k for k, v in weights.items() if k not in target or target[k].shape != v.shape]
        if bad:
            raise ValueError(f"Pretrained weights do not fit the model being trained "
                             f"(first mismatches: {bad[:3]}); use the same regions, segment "
                             "length and model__ hyperparameters as the pretrainer.")
        net.module_.load_state_dict(weights, strict=False)


def _checked_segments(seg: Segments) -> Segments:
    """A :class:`Segments` given by the user, checked like cut ones (3-D, finite).

    Segments whose ``X`` is a ``numpy.memmap`` are checked chunk by chunk and kept on
    disk (a :class:`._streaming.LazyWindows`): training reads the drawn batches only.
    """
    if isinstance(seg.X, np.memmap):
        X = as_lazy(seg.X, "BrainMAEPretrainer")
        check_lazy(X, "BrainMAEPretrainer", reset=False)
    else:
        X = check_signal_array(np.asarray(seg.X), check_flat=False)
    groups = np.asarray(seg.groups)
    if groups.shape != (X.shape[0],):
        raise ValueError(f"Segments.groups has shape {groups.shape}, but Segments.X has "
                         f"{X.shape[0]} segments: one group per segment is expected.")
    return Segments(X=X, groups=groups, skipped=list(seg.skipped), t_r=float(seg.t_r))


def _as_segment_input(X: Any, t_r: float | None, segment_seconds: float,
                      step_seconds: float | None, target_t_r: float | None) -> Segments:
    """Cut ``X`` into segments (see :meth:`BrainMAEPretrainer.segments`).

    Raises
    ------
    ValueError
        For a 2-D array (one subject's series cannot be told from a table of
        snapshots), a sparse matrix, an array that is not 3-D, or plain arrays
        without ``t_r``.
    """
    if isinstance(X, Segments):
        return _checked_segments(X)
    if not isinstance(X, (RoiTimeSeries, list, tuple)):
        if sp.issparse(X):
            raise ValueError("BrainMAEPretrainer takes ROI time series, not a sparse "
                             f"matrix ({type(X).__name__} of shape {X.shape}).")
        arr = np.asarray(X)
        if arr.ndim == 1 and arr.dtype == object:  # an object array of series
            X = list(arr)
        elif arr.ndim == 3:  # (n, n_regions, n_timepoints)
            X = [x.T for x in arr]
        elif arr.ndim == 2:
            raise ValueError(
                f"BrainMAEPretrainer got a 2-D array of shape {arr.shape}: one subject's "
                f"(n_timepoints, n_regions) series would be read as {arr.shape[0]} "
                "one-sample segments. Pass a list of per-subject (n_timepoints, n_regions) "
                "arrays ([series] for one subject), a RoiTimeSeries, or a 3-D "
                "(n_samples, n_regions, n_timepoints) array.")
        else:
            raise ValueError(
                "X must be a list of per-subject (n_timepoints, n_regions) series, a "
                "RoiTimeSeries or an array of shape (n_samples, n_regions, n_timepoints); "
                f"got a {arr.ndim}-D array of shape {arr.shape}.")
    if isinstance(X, RoiTimeSeries) and t_r is not None:
        own = X.t_r
        if np.isfinite(own).all():  # a RoiTimeSeries brings its own TRs (t_r fills gaps)
            if not np.allclose(own, t_r):
                warnings.warn(f"t_r={t_r} is ignored: the RoiTimeSeries brings its own "
                              f"repetition times {sorted(set(own.tolist()))} s.",
                              UserWarning, stacklevel=4)
            t_r = None
    if t_r is None and not isinstance(X, RoiTimeSeries):
        raise ValueError("t_r (seconds) is needed to cut segments of plain arrays; set t_r "
                         "or pass a RoiTimeSeries.")
    with warnings.catch_warnings():
        # segment_series warns of skipped short subjects; fit and transform_segments
        # report them in their own words (or refuse them), so only that one is muted.
        warnings.filterwarnings("ignore", message=r".*were skipped\.", category=UserWarning)
        return segment_series(X, t_r=t_r, segment_seconds=segment_seconds,
                              step_seconds=step_seconds, target_t_r=target_t_r)


@fill_estimator_doc
class BrainMAEPretrainer(NeuroEstimatorMixin, TransformerMixin, BaseEstimator):
    """Pretrain BrainMAE on ROI series without labels; transform series to embeddings.

    ``fit`` cuts every subject's series into segments of ``segment_seconds`` (TR-aware)
    and trains the masked autoencoder (registry model ``"brain_mae"``) with skorch:
    regions (or region-patches) are masked and reconstructed, the loss weighting masked
    samples ``model__masked_weight`` (0.75). ``transform`` encodes every segment without
    masking and averages the pooled segment vectors of each subject (``level="subject"``)
    or returns them per segment (``level="segment"``). Labels are never used, so
    ``make_pipeline(BrainMAEPretrainer(...), LogisticRegression())`` is a linear probe
    whose pretraining sees only the training fold.

    Parameters
    ----------
    t_r : float | None, default=None
        Repetition time (s) of plain-array input; a :class:`RoiTimeSeries` brings its own.
    segment_seconds : float, default=16.0
        Segment length in seconds.
    step_seconds : float | None, default=None
        Hop between segments in ``fit`` (None: no overlap). ``transform`` always uses
        non-overlapping segments.
    target_t_r : float | None, default=None
        Resample every series to this TR first (needed when subjects differ in TR).
    max_segments_per_subject : int | None, default=None
        Pretrain on at most this many segments of each subject, drawn at random
        (``random_state``) once at ``fit``: bounds the cost on long recordings.
    level : {"subject", "segment"}, default="subject"
        One embedding per input series, or per segment.
    %(training_params)s
        Here the model is :class:`~neuroattn.models.brain_mae.BrainMAE`
        (``model__embed_dim``, ``model__mask_ratio``, ``model__mask_strategy``, ...).

    Attributes
    ----------
    module_ : BrainMAE
        The pretrained model.
    net_ : skorch.NeuralNet
        The training loop (``history`` holds per-epoch reconstruction losses).
    history_ : skorch.History
        Per-epoch record.
    n_regions_ : int
        Regions seen at ``fit``.
    n_times_ : int
        Samples per segment.
    t_r_ : float
        Sampling interval (s) of the segments.
    n_segments_fit_ : int
        Segments used for pretraining.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from neuroattn.data.simulate import simulate_fmri_rois
    >>> data = simulate_fmri_rois(20, random_state=0)
    >>> probe = make_pipeline(BrainMAEPretrainer(max_epochs=2, random_state=0),
    ...                       LogisticRegression())
    >>> probe.fit(data, data.labels).predict(data).shape
    (20,)
    """

    _net_class = _MAENet
    _criterion = torch.nn.MSELoss
    _fitted_required = ("n_regions_", "n_times_", "t_r_")
    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "t_r": [Interval(Real, 0, None, closed="neither"), None],
        "segment_seconds": [Interval(Real, 0, None, closed="neither")],
        "step_seconds": [Interval(Real, 0, None, closed="neither"), None],
        "target_t_r": [Interval(Real, 0, None, closed="neither"), None],
        "max_segments_per_subject": [Interval(Integral, 1, None, closed="left"), None],
        "level": [StrOptions({"subject", "segment"})],
    }
    #: The registry model trained (a class attribute, not a parameter).
    model = "brain_mae"

    def __init__(self, *, t_r: float | None = None, segment_seconds: float = 16.0,
                 step_seconds: float | None = None, target_t_r: float | None = None,
                 max_segments_per_subject: int | None = None, level: str = "subject",
                 max_epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 32, weight_decay: float = 0.05,
                 lr_scheduler: str | None = "cosine",
                 validation_fraction: float | None = None, early_stopping: bool = False,
                 patience: int = 10, checkpoint_dir: str | Path | None = None,
                 callbacks: list | None = None, device: str = "auto",
                 mixed_precision: str = "no", gradient_accumulation_steps: int = 1,
                 compile: bool = False, num_workers: int = 0, pin_memory: bool | None = None,
                 persistent_workers: bool = False,
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self._init_params(locals())

    # ----------------------------------------------------------------- helpers
    def segments(self, X: Any, *, fit: bool = False) -> Segments:
        """Cut ``X`` into the segments the model sees.

        Parameters
        ----------
        X : list of numpy.ndarray | RoiTimeSeries | numpy.ndarray | Segments
            ``(n_timepoints, n_regions)`` series per subject (a list, also for one
            subject), a :class:`RoiTimeSeries`, a ``(n_samples, n_regions,
            n_timepoints)`` array (one series per sample), or :class:`Segments`
            already cut (used as they are). A 2-D array is refused: one subject's
            series and a table of snapshots cannot be told apart.
        fit : bool
            Use ``step_seconds`` (pretraining) rather than non-overlapping segments.

        Returns
        -------
        Segments
            ``X`` ``(n_segments, n_regions, n_samples)`` and the subject of each.

        Raises
        ------
        ValueError
            For a 2-D array, a sparse matrix, an array of another dimension, NaN or
            inf, or plain arrays without ``t_r``.
        """
        return _as_segment_input(X, self.t_r, self.segment_seconds,
                                 self.step_seconds if fit else None, self.target_t_r)

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None) -> BrainMAEPretrainer:
        """Pretrain on the series of ``X`` (``y`` is ignored: no labels are used).

        Parameters
        ----------
        X : list of numpy.ndarray | RoiTimeSeries | numpy.ndarray
            See :meth:`segments`. Subjects shorter than one segment are skipped with a
            warning.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On NaN, different region counts, missing ``t_r``, mixed TRs without
            ``target_t_r``, no segment at all, a 2-D array (pass ``[series]`` for one
            subject), or bad hyperparameters.
        """
        self._check_params()
        seg = self.segments(X, fit=True)
        if seg.skipped:
            warnings.warn(f"{len(seg.skipped)} subject(s) shorter than one "
                          f"{self.segment_seconds} s segment were skipped.", stacklevel=2)
        rng = check_random_state(self.random_state)
        index = seg.subsample_index(self.max_segments_per_subject, rng)
        if isinstance(seg.X, LazyWindows):  # on disk: batches are read as drawn
            shape = (len(index), *seg.X.shape[1:])
            data = torch.utils.data.Subset(WindowDataset(seg.X, None), index)
        else:
            data = seg.X[index]
            shape = data.shape
        if shape[0] < 2:
            raise ValueError(f"Found {shape[0]} segment(s) (n_samples="
                             f"{shape[0]}); at least 2 are needed.")
        self.n_regions_, self.n_times_, self.t_r_ = shape[1], shape[2], seg.t_r
        self.n_segments_fit_ = shape[0]
        self._train(data, None, seed=self._seed(rng))
        return self

    def _signal_args(self) -> dict[str, Any]:
        return {"n_chans": self.n_regions_, "n_times": self.n_times_,
                "sfreq": 1.0 / self.t_r_}

    # ------------------------------------------------------------- transform
    @torch.no_grad()
    def _embed(self, data: np.ndarray) -> np.ndarray:
        module = self.module_
        was_training = module.training
        module.eval()
        device = next(module.parameters()).device
        try:
            out = [module.forward_features(torch.as_tensor(data[i:i + 256], device=device))
                   .float().cpu().numpy() for i in range(0, len(data), 256)]
        finally:
            module.train(was_training)
        return np.concatenate(out)

    def transform_segments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of every non-overlapping segment and the subject of each.

        Returns
        -------
        embeddings : numpy.ndarray
            ``(n_segments, n_features)``.
        groups : numpy.ndarray
            ``(n_segments,)`` position of each segment's series in ``X``.
        """
        check_is_fitted(self, "module_")
        seg = self.segments(X)
        if seg.X.shape[1:] != (self.n_regions_, self.n_times_):
            raise ValueError(f"Segments have {seg.X.shape[1]} regions x {seg.X.shape[2]} "
                             f"samples, but the pretrainer was fitted on {self.n_regions_} x "
                             f"{self.n_times_} (check regions, t_r and target_t_r).")
        if seg.skipped:
            raise ValueError(f"Series {seg.skipped[:10]} are shorter than one "
                             f"{self.segment_seconds} s segment and cannot be embedded.")
        return self._embed(seg.X), seg.groups

    def transform(self, X: Any) -> np.ndarray:
        """Embed ``X``: ``(n_series, n_features)`` (level "subject") or ``(n_segments,
        n_features)`` (level "segment"), each subject the mean of its segments."""
        emb, groups = self.transform_segments(X)
        if self.level == "segment":
            return emb
        n = int(groups.max()) + 1
        # segment -> subject sums as one sparse product (np.add.at is unbuffered and slow)
        onehot = sp.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))),
                               shape=(n, len(groups)))
        sums = onehot @ emb.astype(np.float64, copy=False)
        return sums / np.bincount(groups, minlength=n)[:, None]

    # ------------------------------------------------------------ fine-tuning
    def init_callback(self) -> InitFromPretrained:
        """A skorch callback that starts a new BrainMAE from these pretrained weights."""
        check_is_fitted(self, "module_")
        return InitFromPretrained({k: v.detach().cpu().clone()
                                   for k, v in self.module_.state_dict().items()})

    def _finetuner(self, cls: type, kwargs: dict[str, Any]):
        check_is_fitted(self, "module_")
        params = {**self._routed("model__")}
        params = {f"model__{k}": v for k, v in params.items()}
        extra = list(kwargs.pop("callbacks", None) or [])
        kwargs.setdefault("random_state", self.random_state)
        kwargs.setdefault("device", self.device)
        return cls("brain_mae", callbacks=[("init_from_pretrained", self.init_callback())]
                   + extra, **{**params, **kwargs})

    def to_classifier(self, **kwargs: Any) -> NeuroClassifier:
        """A :class:`NeuroClassifier` whose BrainMAE starts from the pretrained weights.

        It is trained on segments (``self.segments(X).X``, labels repeated per segment);
        its model hyperparameters are the pretrainer's ``model__`` parameters.

        Parameters
        ----------
        **kwargs
            NeuroClassifier parameters (``max_epochs``, ``lr``, ``callbacks``, ...).

        Notes
        -----
        The initialising callback belongs to the training run: :meth:`NeuroClassifier.
        save` stores the fine-tuned weights, not the callback (it warns that the loaded
        estimator has ``callbacks=None``).
        """
        return self._finetuner(NeuroClassifier, dict(kwargs))

    def to_regressor(self, **kwargs: Any) -> NeuroRegressor:
        """A :class:`NeuroRegressor` starting from the pretrained weights, see
        :meth:`to_classifier`."""
        return self._finetuner(NeuroRegressor, dict(kwargs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.target_tags.required = False
        return tags
