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

import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["check_n_jobs", "fan_out", "JobFailure"]


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
             capture_errors: bool) -> tuple[int, Any]:
    """Run ``func(*args)``; in a worker process (not ``parent``) with one torch thread
    and one BLAS/OpenMP thread, the worker's settings restored after the job."""
    try:
        if os.getpid() == parent:  # sequential or threads: leave the process alone
            return index, func(*args)
        import torch
        from threadpoolctl import threadpool_limits

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with threadpool_limits(limits=1):
                return index, func(*args)
        finally:
            torch.set_num_threads(before)
    except Exception as exc:
        if not capture_errors:
            raise
        return index, JobFailure(_portable(exc))


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
        stopping the iteration cancels the jobs not yet started.

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
            yield _run_job(k, func, tuple(job), parent, capture_errors)
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                        pre_dispatch="n_jobs")
    yield from parallel(delayed(_run_job)(k, func, tuple(job), parent, capture_errors)
                        for k, job in enumerate(jobs))
