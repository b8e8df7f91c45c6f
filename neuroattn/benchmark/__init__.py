"""MOABB glue, result tables and plots; the ``neuroattn benchmark`` machinery."""

from ._pipelines import (
                         PIPELINE_DIR,
                         SeedCallback,
                         braindecode_classifier,
                         list_pipelines,
                         load_pipelines,
)
from ._report import format_summary, plot_paired, summary_table
from ._run import DEFAULT_PIPELINES, EVALUATIONS, BenchmarkResult, run

__all__ = ["PIPELINE_DIR", "SeedCallback", "braindecode_classifier", "list_pipelines",
           "load_pipelines", "format_summary", "plot_paired", "summary_table",
           "DEFAULT_PIPELINES", "EVALUATIONS", "BenchmarkResult", "run"]
