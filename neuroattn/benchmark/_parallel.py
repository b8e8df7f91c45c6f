"""Fan-out of an evaluation's jobs (folds, pipeline x subject jobs) through joblib.

:func:`fan_out` runs independent jobs with :class:`joblib.Parallel` and yields each
result as soon as its job ends, so the caller writes the job's record
(:mod:`._resume`) at once, as in a sequential run. Each job runs in a worker process
with one torch thread and one BLAS/OpenMP thread (set inside the worker, restored
after the job; the calling process is never changed): ``n`` workers use ``n`` cores
instead of fighting over them.

The backend is joblib's: local processes (``loky``) by default, or any backend the
caller selects, e.g. a Dask cluster::

    import joblib
    from dask.distributed import Client

    client = Client("tcp://scheduler:8786")   # or LocalCluster(...)
    with joblib.parallel_backend("dask"):
        run(..., n_jobs=-1)                   # every worker of the cluster

Jobs are seeded by their own parameters, never by the order they run in, so the
results equal those of ``n_jobs=1`` (tests/benchmark/test_fanout.py).
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["check_n_jobs", "fan_out", "JobFailure"]

#: The package logger whose records a worker sends back.
_LOGGER = "neuroattn"


def check_n_jobs(n_jobs: Any, parameter: str = "n_jobs") -> int | None:
    """Check a number of parallel jobs the way joblib reads it.

    Parameters
    ----------
    n_jobs : int | None
        Jobs at once: ``1`` sequential, in this process; ``N > 1`` that many worker
        processes; ``-1`` one per core (``-2`` all but one, ...; on a Dask backend, one
        per worker); None: joblib's default (1, or the ``n_jobs`` of an enclosing
        ``joblib.parallel_config``).
    parameter : str
        The name in the error message.

    Returns
    -------
    int | None
        ``n_jobs`` as an ``int`` (or None).

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0, a bool or not an integer.
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"{parameter} must be a non-zero int (1: sequential, N > 1: N "
                         f"worker processes, -1: one per core) or None, got {n_jobs!r}.")
    return int(n_jobs)


@dataclass
class JobFailure:
    """A job that raised (with ``capture_errors=True``): the exception, or a
    ``RuntimeError`` with its text when the exception could not be sent back from the
    worker process."""

    error: BaseException


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception holding an unpicklable object
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _run_job(index: int, func: Callable, args: tuple, parent: int,
             capture_errors: bool, log_level: int = logging.WARNING) -> tuple:
    """Run ``func(*args)``; in a worker process (not ``parent``) with one torch thread
    and one BLAS/OpenMP thread, the worker's settings restored after the job.

    Returns ``(index, result, warnings, log_records)``: in a worker, the warnings the
    job raised and the ``neuroattn`` log records at ``log_level`` or above, for
    :func:`fan_out` to raise and log again in the calling process (a worker's own
    stderr is not the user's); in the calling process both lists are empty.
    """
    if os.getpid() == parent:  # sequential or threads: leave the process alone
        return (index, _call(func, args, capture_errors), [], [])
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    logger = logging.getLogger(_LOGGER)
    level, handler = logger.level, _Collect()
    torch.set_num_threads(1)
    logger.addHandler(handler)
    logger.setLevel(log_level)
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
            result = _call(func, args, capture_errors)
    finally:
        torch.set_num_threads(before)
        logger.removeHandler(handler)
        logger.setLevel(level)
    return (index, result, [_portable_warning(w) for w in caught], handler.records)


def _call(func: Callable, args: tuple, capture_errors: bool) -> Any:
    try:
        return func(*args)
    except Exception as exc:
        if not capture_errors:
            raise
        return JobFailure(_portable(exc))


class _Collect(logging.Handler):
    """Keep a worker's log records (their message formatted, so they pickle)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:  # keep the traceback as text
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)


def _portable_warning(w: warnings.WarningMessage) -> tuple:
    category = w.category
    try:
        pickle.loads(pickle.dumps(category))
    except Exception:  # a warning class defined where the parent cannot import it
        category = UserWarning
    return str(w.message), category, w.filename, w.lineno, _module_of(w.filename)


def _module_of(filename: str) -> str | None:
    """The dotted name of the loaded module defined in ``filename`` (for the caller's
    ``module=`` warning filters), or None."""
    import sys

    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == filename:
            return name
    return None


def _replay(caught: list[tuple], records: list[logging.LogRecord],
            registry: dict | None = None) -> None:
    """Raise a worker's warnings and log its records again here, where the user is.

    ``registry`` is shared by the jobs of one :func:`fan_out`, so a warning shown once
    per location is shown once, not once per job.
    """
    for message, category, filename, lineno, module in caught:
        warnings.warn_explicit(f"{message} (in a worker process)", category, filename,
                               lineno, module=module, registry=registry)
    for record in records:
        logging.getLogger(record.name).handle(record)


def fan_out(func: Callable, jobs: Sequence[tuple], n_jobs: int | None = 1, *,
            capture_errors: bool = False) -> Iterator[tuple[int, Any]]:
    """Run ``func(*job)`` for every job, yielding ``(position, result)`` as each ends.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers).
    jobs : sequence of tuple
        The positional arguments of each call.
    n_jobs : int | None
        See :func:`check_n_jobs`. With one job, or ``n_jobs=1`` outside a joblib
        backend context, the jobs run here in order, with no worker process.
    capture_errors : bool
        Yield a :class:`JobFailure` for a job that raised, instead of raising (the other
        jobs go on).

    Yields
    ------
    position : int
        The job's position in ``jobs``.
    result : object
        What ``func`` returned (or a :class:`JobFailure`). Jobs end in any order;
        stopping the iteration cancels the jobs not yet started. Warnings a job
        raised in a worker process are raised again here (their message ending in
        "(in a worker process)"), and its ``neuroattn`` log records at this process's
        level are logged here, as the job ends.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0 or not an integer.
    """
    from joblib import Parallel, delayed

    n_jobs = check_n_jobs(n_jobs)
    parent = os.getpid()
    if len(jobs) <= 1:
        for k, job in enumerate(jobs):
            yield _run_job(k, func, tuple(job), parent, capture_errors)[:2]
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                        pre_dispatch="n_jobs")
    level, registry = logging.getLogger(_LOGGER).getEffectiveLevel(), {}
    for k, result, caught, records in parallel(
            delayed(_run_job)(k, func, tuple(job), parent, capture_errors, level)
            for k, job in enumerate(jobs)):
        _replay(caught, records, registry)
        yield k, result
