"""Evaluation of the tracks, one module each, all writing through :func:`save_results`.

* :mod:`~neuroattn.benchmark.mi` - motor imagery and SSVEP: MOABB evaluations of YAML
  pipelines (:func:`run`, the ``neuroattn benchmark`` machinery; pipelines in
  ``_pipelines``, SSVEP specifics in ``_ssvep``);
* :mod:`~neuroattn.benchmark.seizure` - seizure forecasting, leave-one-seizure-out;
* :mod:`~neuroattn.benchmark.fmri` - BrainMAE vs connectivity, leave-site-out;
* :mod:`~neuroattn.benchmark.encoding` - visual encoding, the brain encoder vs ridge.

Each is built the same way: a splitter (:mod:`neuroattn.data.splits`, or MOABB's
evaluations), a fit per fold, a scores table (one row per fold x method) and
:func:`save_results` for its CSV / JSON / figure.
"""

from ._pipelines import (
    PIPELINE_DIR,
    TorchSeeded,
    braindecode_classifier,
    list_pipelines,
    load_pipelines,
    pipeline_paradigms,
)
from ._report import save_figure, save_results
from .mi import (
    DEFAULT_BASELINES,
    DEFAULT_PIPELINES,
    EVALUATIONS,
    BenchmarkResult,
    PipelineFailedError,
    default_pipelines,
    format_summary,
    plot_paired,
    run,
    summary_table,
)

__all__ = ["PIPELINE_DIR", "TorchSeeded", "braindecode_classifier", "list_pipelines",
           "load_pipelines", "save_figure", "save_results", "format_summary", "plot_paired",
           "summary_table", "DEFAULT_PIPELINES", "DEFAULT_BASELINES", "default_pipelines",
           "pipeline_paradigms", "EVALUATIONS", "BenchmarkResult",
           "PipelineFailedError", "run"]
