"""``SSVEPClassifier``: two-stage training of an SSVEP network (Guney et al. 2021).

A global model is trained on the trials of every subject, then a copy of it is
fine-tuned on each subject's trials alone; prediction uses the subject's own model
(or the global model for a subject not seen at ``fit``).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .._docs import fill_estimator_doc
from ..data import check_signal_array
from ..data._convert import _is_epochs
from ._adabn import adapted_copy, check_adaptable
from ._base import TRAINING_CONSTRAINTS, NeuroEstimatorMixin
from ._nets import _Classifier
from ._params import encode_class_targets
from ._ssvep_crops import CropDataset, crop_length, scale_trials

__all__ = ["SSVEPClassifier"]

_KEPT = ("net_", "module_", "history_")


class _SubjectModels(torch.nn.Module):
    """The global model and the fine-tuned copies, in one state dict for ``save``.

    ``subject_models[i]`` belongs to ``subjects_[i]``; ``forward`` is the global model.
    """

    def __init__(self, global_model: torch.nn.Module,
                 subject_models: list[torch.nn.Module]) -> None:
        super().__init__()
        self.global_model = global_model
        self.subject_models = torch.nn.ModuleList(subject_models)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.global_model(x)


@fill_estimator_doc
class SSVEPClassifier(ClassifierMixin, NeuroEstimatorMixin, BaseEstimator):
    """Two-stage SSVEP classifier: a global model, then one fine-tuned copy per subject.

    ``fit(X, y, groups=subject)`` first trains the model on all trials (the global
    stage), then, for each subject in ``groups``, fine-tunes a copy of the global
    weights on that subject's trials alone (``finetune_max_epochs`` epochs, learning
    rate ``finetune_lr``, dropout ``finetune_drop_probs``), as Guney, Oblokulov &
    Ozkan (2021) do. ``predict(X, groups=subject)`` uses each subject's own model and
    the global model for subjects not seen at ``fit`` (all trials when ``groups`` is
    None). Without ``groups`` at ``fit`` only the global stage runs: on one subject's
    data that is the subject-specific model. A held-out subject can be calibrated
    later with :meth:`fine_tune`. In a leave-one-subject-out evaluation, fit on the
    training subjects only: the global stage sees exactly the trials given to ``fit``.

    ``X`` holds sub-band trials ``(n_trials, n_subbands, n_chans, n_times)``, as
    :class:`neuroattn.preprocessing.SubBandFilter` returns them; a 3-D array is one
    sub-band ``(n_trials, n_chans, n_times)`` and a 2-D array one channel. The
    defaults differ from the paper's MATLAB training (Adam at 1e-4 for 1000 epochs,
    L2 1e-3, batches of 100) for speed: AdamW at 1e-3, 100 and 50 epochs.

    Each trial is divided by its own standard deviation (``scale="trial"``) before
    the network sees it, at ``fit``, ``fine_tune`` and prediction alike: SSVEP
    recordings come in microvolts with amplitudes from units to thousands, which a
    network initialised for unit inputs (weights N(0, 0.01^2)) learns slowly from,
    and the per-trial factor also evens out amplitude drift between runs and
    subjects. It needs no fitted statistics, so a new subject's trials are scaled the
    same way. The relative amplitudes of sub-bands and channels within a trial are
    kept.

    Parameters
    ----------
    %(training_params)s
    finetune_max_epochs : int, default=50
        Epochs of the per-subject stage; 0 skips it (global model only).
    finetune_lr : float | None, default=None
        Learning rate of the per-subject stage; None uses ``lr``.
    scale : {"trial"} | None, default="trial"
        ``"trial"``: divide each trial by its standard deviation over sub-bands,
        channels and samples (a flat trial is left as it is); None: feed ``X`` as
        given.
    finetune_drop_probs : tuple of float | None, default=(0.6, 0.6, 0.95)
        Dropout probabilities of the model during fine-tuning (passed to the model's
        ``set_dropout``; the paper raises the first two to 0.6-0.7); None keeps the
        model's own.
    crop_seconds : float | None, default=None
        Train on crops: each epoch, every training trial (at ``fit`` and
        :meth:`fine_tune`) gives one window of ``crop_seconds`` s starting at a fresh
        uniformly drawn sample inside it, and prediction reads the first
        ``crop_seconds`` s of each trial, what a decision after ``crop_seconds`` of
        stimulation sees. The trials given to ``fit`` may be longer than the decision
        window (Kalunga2016: 4-5 s of continuous flicker) and the network is built for
        ``round(crop_seconds * sfreq)`` samples (``n_times_``); trials at prediction
        need at least that many. None (the default, the paper's training): one window,
        the whole trial. Needs ``sfreq`` and ``stim_freqs``. With ``scale="trial"``
        each crop is scaled on its own. With ``validation_fraction``, validation reads
        the first crop of each held-out trial, as prediction does.
    sfreq : float | None, default=None
        Sampling frequency of ``X`` in Hz; used only with ``crop_seconds``.
    stim_freqs : sequence of float | None, default=None
        Stimulus frequencies in Hz; used only with ``crop_seconds``, which must be at
        least one period of the lowest.
    adapt_unseen : bool, default=False
        Trials scored by the global model (subjects not seen at ``fit``; every trial
        when ``groups`` is None) are scored by a copy of it whose batch-normalisation
        statistics are re-estimated on those trials, one copy per subject in ``groups``
        (AdaBN, Li et al. 2018, https://doi.org/10.1016/j.patcog.2018.03.005). No label
        is used, but the scoring is transductive: a trial's prediction depends on the
        other trials of its subject passed in the same call, so pass a subject's trials
        together (at least 2; the statistics are noisy with few trials; a
        calibration block, or a leave-one-subject-out test subject), in one forward
        pass. The model must hold batch normalisation (``ssvep_dnn`` with
        ``head="power"``). Fine-tuned subjects are scored by their own models as
        without it.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Sorted class labels (the columns of ``predict_proba``).
    subjects_ : numpy.ndarray
        Subjects with a fine-tuned model, in the order of
        ``module_.subject_models``.
    n_subbands_ : int
        Sub-bands seen at ``fit``.
    %(fitted_net_attrs)s
    %(fitted_signal_attrs)s

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.estimators import SSVEPClassifier
    >>> X = np.random.default_rng(0).standard_normal((24, 3, 4, 64)).astype("float32")
    >>> y, subject = np.tile([0, 1], 12), np.repeat([1, 2], 12)
    >>> clf = SSVEPClassifier(max_epochs=2, finetune_max_epochs=1, random_state=0)
    >>> clf.fit(X, y, groups=subject).predict(X[:3], groups=subject[:3]).shape
    (3,)
    """

    _net_class = _Classifier
    _criterion = torch.nn.CrossEntropyLoss
    _fitted_required = (*NeuroEstimatorMixin._fitted_required, "n_subbands_", "classes_",
                        "subjects_")
    _parameter_constraints = {
        **{k: v for k, v in TRAINING_CONSTRAINTS.items() if k != "checkpoint_dir"},
        "model": [str, type],
        "finetune_max_epochs": [Interval(Integral, 0, None, closed="left")],
        "finetune_lr": [Interval(Real, 0, None, closed="neither"), None],
        "finetune_drop_probs": [tuple, list, None],
        "scale": [StrOptions({"trial"}), None],
        "crop_seconds": [Interval(Real, 0, None, closed="neither"), None],
        "sfreq": [Interval(Real, 0, None, closed="neither"), None],
        "stim_freqs": [tuple, list, np.ndarray, None],
        "adapt_unseen": ["boolean"],
    }

    def __init__(self, model: str | type = "ssvep_dnn", *, max_epochs: int = 100,
                 finetune_max_epochs: int = 50, lr: float = 1e-3,
                 finetune_lr: float | None = None, batch_size: int = 100,
                 weight_decay: float = 1e-3,
                 finetune_drop_probs: tuple[float, ...] | None = (0.6, 0.6, 0.95),
                 scale: str | None = "trial", crop_seconds: float | None = None,
                 sfreq: float | None = None, stim_freqs: Any = None,
                 adapt_unseen: bool = False, lr_scheduler: str | None = None,
                 validation_fraction: float | None = None,
                 early_stopping: bool = False, patience: int = 10,
                 callbacks: list | None = None, device: str = "auto",
                 mixed_precision: str = "no", gradient_accumulation_steps: int = 1,
                 compile: bool = False, num_workers: int = 0, pin_memory: bool | None = None,
                 persistent_workers: bool = False,
                 random_state: Any = None, verbose: int = 0, **kwargs: Any) -> None:
        self._init_params(locals())

    # ------------------------------------------------------------------ inputs
    def _validate_X(self, X: Any, *, reset: bool, full: bool = False) -> np.ndarray:
        """Return float32 ``(n, n_subbands, n_chans, n_times)``.

        With ``crop_seconds``: at ``fit`` (``reset``) and with ``full`` the whole
        trials, unscaled (each crop is scaled when drawn); otherwise their first
        ``n_times_`` samples, scaled.

        Raises
        ------
        ValueError
            If ``X`` is an ``mne.Epochs`` (filter it into sub-bands first), not 2-4-D
            finite numbers, has fewer than 2 samples per trial, or (after ``fit``) another
            shape than at ``fit`` (with ``crop_seconds``: other sub-bands or channels, or
            fewer samples than a crop); or ``crop_seconds`` does not fit (see
            ``crop_length``).
        """
        if _is_epochs(X):
            raise ValueError("SSVEPClassifier expects sub-band trials (n_trials, n_subbands, "
                             "n_chans, n_times), got an mne.Epochs: transform it with "
                             "neuroattn.preprocessing.SubBandFilter first.")
        data = X if sp.issparse(X) else np.asarray(X)
        if data.ndim <= 2:  # one channel, with scikit-learn's own messages
            data = validate_data(self, data, reset=reset, dtype=np.float32,
                                 ensure_all_finite=True)[:, None, None, :]
        else:
            if data.ndim != 4 and data.ndim != 3:
                raise ValueError(f"SSVEPClassifier expects X of shape (n_trials, n_subbands, "
                                 f"n_chans, n_times) (3-D: one sub-band, 2-D: one channel), "
                                 f"got a {data.ndim}-D array of shape {data.shape}.")
            if data.dtype.kind == "c":
                raise ValueError(f"Complex data not supported: X has dtype {data.dtype}.")
            data = check_array(data, allow_nd=True, dtype=np.float32, ensure_all_finite=True)
            data = data[:, None] if data.ndim == 3 else data
        n, s, c, t = data.shape
        if t < 2:
            raise ValueError(f"X has n_features = {t} time sample(s) per trial; "
                             "SSVEPClassifier needs at least 2.")
        data = check_signal_array(data.reshape(n, s * c, t), check_flat=reset).reshape(
            n, s, c, t)
        crop = self.crop_seconds is not None
        if reset:
            self.n_features_in_ = s * c * t
            self.n_subbands_, self.n_chans_ = s, c
            self.n_times_ = crop_length(self, t) if crop else t
        elif crop and ((s, c) != (self.n_subbands_, self.n_chans_) or t < self.n_times_):
            raise ValueError(
                f"X has {s} sub-bands x {c} channels x {t} samples, but SSVEPClassifier was "
                f"fitted on {self.n_subbands_} x {self.n_chans_} with crops of "
                f"crop_seconds={self.crop_seconds} ({self.n_times_} samples): the sub-bands "
                "and channels must be those of the global model, the trials at least one "
                "crop long.")
        elif not crop and (s, c, t) != (self.n_subbands_, self.n_chans_, self.n_times_):
            raise ValueError(
                f"X has {s} sub-bands x {c} channels x {t} samples, but SSVEPClassifier was "
                f"fitted on {self.n_subbands_} x {self.n_chans_} x {self.n_times_}: the "
                "sub-bands, channels and window must be those of the global model.")
        if crop and (reset or full):
            return data
        if crop:
            data = data[..., :self.n_times_]
        return scale_trials(data) if self.scale == "trial" else data

    def _train_data(self, data: np.ndarray, y: np.ndarray) -> Any:
        """What the net trains on: ``data`` itself, or a :class:`CropDataset` of it."""
        if self.crop_seconds is None:
            return data
        return CropDataset(data, y, self.n_times_, self.scale == "trial")

    def _encode_targets(self, y: Any, n_samples: int) -> np.ndarray:
        return encode_class_targets(self, y, n_samples)

    @staticmethod
    def _check_groups(groups: Any, n_samples: int) -> np.ndarray:
        groups = column_or_1d(groups)
        if groups.shape[0] != n_samples:
            raise ValueError(f"groups has {groups.shape[0]} entries, X has {n_samples} "
                             "trials: give one subject per trial.")
        return groups

    # ---------------------------------------------------------------- building
    def _signal_args(self) -> dict[str, Any]:
        return {**super()._signal_args(), "n_subbands": self.n_subbands_}

    def _rebuild_module(self) -> torch.nn.Module:
        """The model of the current stage: the global weights with fine-tuning dropout
        while fine-tuning; after ``fit`` (and at ``load``) the global model and one copy
        per subject of ``subjects_``."""
        init = self.__dict__.get("_init_from")
        if init is not None:  # fine-tuning: start from the global weights
            module = super()._rebuild_module()
            module.load_state_dict(init)
            if self.finetune_drop_probs is not None:
                module.set_dropout(self.finetune_drop_probs)
            return module
        build = super()._rebuild_module
        if "subjects_" in self.__dict__:
            return _SubjectModels(build(), [build() for _ in self.subjects_])
        return build()

    def _check_params(self) -> None:
        super()._check_params()
        probs = self.finetune_drop_probs
        if probs is not None and (len(probs) != 3 or not all(
                isinstance(p, Real) and 0 <= p < 1 for p in probs)):
            raise ValueError(f"finetune_drop_probs must be 3 probabilities in [0, 1) or "
                             f"None, got {probs!r}.")

    def _finetune(self, global_model: torch.nn.Module, X: np.ndarray, y: np.ndarray,
                  seed: int) -> torch.nn.Module:
        """A copy of ``global_model`` trained on ``X``, ``y`` with the fine-tuning settings
        (the fitted net, model and history of the estimator are left as they were)."""
        if self.finetune_drop_probs is not None and not hasattr(global_model, "set_dropout"):
            raise ValueError(f"finetune_drop_probs needs a model with set_dropout; "
                             f"{type(global_model).__name__} has none (pass None).")
        kept = {k: self.__dict__[k] for k in _KEPT if k in self.__dict__}
        saved = self.max_epochs, self.lr
        self.__dict__["_init_from"] = {k: v.detach().clone()
                                       for k, v in global_model.state_dict().items()}
        try:
            self.max_epochs = self.finetune_max_epochs
            self.lr = self.lr if self.finetune_lr is None else self.finetune_lr
            self._train(self._train_data(X, y), y, seed=seed)
            return self.module_
        finally:
            self.max_epochs, self.lr = saved
            self.__dict__.pop("_init_from", None)
            for k in _KEPT:
                self.__dict__.pop(k, None)
            self.__dict__.update(kept)

    def _set_fitted(self, global_model: torch.nn.Module, subjects: np.ndarray,
                    models: list[torch.nn.Module], history: Any, seed: int) -> None:
        container = _SubjectModels(global_model, models)
        self.net_ = self._make_net(container, seed).initialize()
        self.module_ = self.net_.module_
        self.history_ = history
        self.subjects_ = subjects

    # -------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any, groups: Any = None) -> SSVEPClassifier:
        """Train the global model on all trials, then fine-tune a copy per subject.

        Parameters
        ----------
        X : array-like
            Sub-band trials ``(n_trials, n_subbands, n_chans, n_times)`` (3-D: one
            sub-band).
        y : array-like
            ``(n_trials,)`` class labels.
        groups : array-like | None
            ``(n_trials,)`` subject of each trial; None trains the global model only.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a parameter is invalid, ``X`` is not sub-band trials, ``y`` has fewer than
            2 classes, ``groups`` has another length than ``X``, a subject has trials
            of one class only (its fine-tuning would learn a constant), or
            ``adapt_unseen`` is set for a model without batch normalisation.
        """
        self._check_params()
        for name in (*_KEPT, "subjects_"):
            self.__dict__.pop(name, None)
        data = self._validate_X(X, reset=True)
        if data.shape[0] < 2:
            raise ValueError(f"Found {data.shape[0]} sample(s): n_samples = 1 is too few to "
                             "train; at least 2 are needed.")
        y_enc = self._encode_targets(y, data.shape[0])
        subjects = np.array([], dtype=np.int64)
        if groups is not None:
            groups = self._check_groups(groups, data.shape[0])
            subjects = np.unique(groups)
            for subject in subjects.tolist():
                labels = np.unique(y_enc[groups == subject])
                if len(labels) < 2:
                    raise ValueError(
                        f"Subject {subject!r} has trials of one class only "
                        f"({self.classes_[labels].tolist()}); fine-tuning needs at least 2 "
                        "classes per subject: drop the subject or pass groups=None.")
        self.sfreq_, self.chs_info_, self.ch_names_ = None, None, None
        if self.adapt_unseen:  # refused before training, not at the first predict
            with torch.device("meta"):  # no memory, no draw from torch's global generator
                check_adaptable(super()._rebuild_module(), "adapt_unseen=True")
        rng = check_random_state(self.random_state)
        seed = self._seed(rng)
        self._train(self._train_data(data, y_enc), y_enc, seed=seed)
        global_model, history = self.module_, self.history_
        if self.finetune_max_epochs == 0:
            subjects = subjects[:0]
        try:
            models = [self._finetune(global_model, data[groups == s], y_enc[groups == s],
                                     self._seed(rng)) for s in subjects]
        except BaseException:
            # An interrupted or failed fine-tuning leaves the estimator unfitted, not a
            # global model that looks like a fitted two-stage one.
            for name in (*_KEPT, "subjects_"):
                self.__dict__.pop(name, None)
            raise
        self._set_fitted(global_model, subjects, models, history, seed)
        return self

    def fine_tune(self, X: Any, y: Any, subject: Any) -> SSVEPClassifier:
        """Fine-tune a copy of the global model for one (new or known) subject.

        Parameters
        ----------
        X : array-like
            The subject's sub-band trials, shaped as at ``fit``.
        y : array-like
            ``(n_trials,)`` labels, among ``classes_``.
        subject : hashable
            The subject's label in ``groups`` at prediction; an existing model of the
            subject is replaced.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If the estimator is not fitted, ``X`` has other sub-bands, channels or
            samples than the global model, a label is not in ``classes_``, or the
            trials hold one class only.
        """
        check_is_fitted(self, "net_")
        self._check_params()
        data = self._validate_X(X, reset=False, full=True)
        y = column_or_1d(y)
        if y.shape[0] != data.shape[0]:
            raise ValueError(f"X has {data.shape[0]} samples but y has {y.shape[0]}.")
        unknown = sorted(set(np.unique(y).tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"Labels {unknown} were not seen at fit (classes_ = "
                             f"{self.classes_.tolist()}).")
        if len(np.unique(y)) < 2:
            raise ValueError(f"Subject {subject!r} has trials of one class only "
                             f"({np.unique(y).tolist()}); fine-tuning needs at least 2.")
        y_enc = np.searchsorted(self.classes_, y).astype(np.int64)
        container = self.module_
        model = self._finetune(container.global_model, data, y_enc,
                               self._seed(check_random_state(self.random_state)))
        subjects, models = list(self.subjects_.tolist()), list(container.subject_models)
        if subject in subjects:
            models[subjects.index(subject)] = model
        else:
            subjects.append(subject)
            models.append(model)
        self._set_fitted(container.global_model, np.asarray(subjects), models,
                         self.history_, 0)
        return self

    # ---------------------------------------------------------------- predict
    def _forward(self, X: Any, groups: Any = None) -> np.ndarray:
        check_is_fitted(self, "net_")
        data = self._validate_X(X, reset=False)
        index = np.full(data.shape[0], -1)
        if groups is not None:
            groups = self._check_groups(groups, data.shape[0])
            known = {s: i for i, s in enumerate(self.subjects_.tolist())}
            index = np.array([known.get(g, -1) for g in groups.tolist()])
            unseen = sorted({g for g in groups.tolist() if g not in known}, key=str)
            if unseen and self.subjects_.size:
                warnings.warn(f"Subjects {unseen[:10]} were not seen at fit (fitted: "
                              f"{self.subjects_.tolist()[:10]}): the global model"
                              f"{' (its statistics adapted to each)' if self.adapt_unseen else ''}"
                              " scores their trials.", UserWarning, stacklevel=3)
        container = self.module_
        device = next(container.parameters()).device
        out = np.empty((data.shape[0], self.n_outputs_), dtype=np.float32)
        jobs = [(container.subject_models[k], np.flatnonzero(index == k))
                for k in np.unique(index) if k >= 0]
        unseen = np.flatnonzero(index < 0)
        if unseen.size and self.adapt_unseen:  # one adapted copy per unseen subject
            order: dict = {}  # subject -> key, in order of first appearance
            keys = np.zeros(len(unseen), int) if groups is None else np.array(
                [order.setdefault(g, len(order)) for g in groups[unseen].tolist()])
            names = list(order) or [None]
            for g in np.unique(keys):
                rows = unseen[keys == g]
                who = "the trials given" if names[g] is None else f"subject {names[g]!r}"
                jobs.append((adapted_copy(container.global_model, data[rows], device, who,
                                          "adapt_unseen=True"), rows))
        elif unseen.size:
            jobs.append((container.global_model, unseen))
        for model, rows in jobs:
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    for start in range(0, len(rows), self.batch_size):
                        chunk = rows[start:start + self.batch_size]
                        batch = torch.as_tensor(data[chunk], device=device)
                        out[chunk] = model(batch).float().cpu().numpy()
            finally:
                model.train(was_training)
        return out

    def decision_function(self, X: Any, groups: Any = None) -> np.ndarray:
        """Logits ``(n_trials, n_classes)``, or their difference ``(n_trials,)`` if binary.

        ``groups`` (one subject per trial) picks each subject's fine-tuned model.
        """
        logits = self._forward(X, groups)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any, groups: Any = None) -> np.ndarray:
        """Class probabilities ``(n_trials, n_classes)`` in the order of ``classes_``.

        ``groups`` as in :meth:`decision_function`.
        """
        return torch.from_numpy(self._forward(X, groups)).softmax(dim=1).numpy()

    def predict(self, X: Any, groups: Any = None) -> np.ndarray:
        """Most probable label per trial, ``(n_trials,)``; ``groups`` as in
        :meth:`decision_function` (unknown subjects and None use the global model)."""
        labels = self._forward(X, groups).argmax(axis=1)
        return self.classes_[labels]

