"""Helpers shared by the benchmark scripts: fresh-process measurement, peak memory and
one-trial latency.

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this module is imported
as ``_common`` from the scripts' own folder; it is not part of the package.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of the calling process, in MB.

    Reads ``VmHWM`` from ``/proc/self/status``. ``getrusage(...).ru_maxrss`` is not used
    on Linux because a "spawn" child starts as a fork of its parent, and ``ru_maxrss``
    survives the ``exec``: it would report the parent's peak whenever that is larger.
    Falls back to ``ru_maxrss`` where ``/proc`` is missing (kB on Linux, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import sys

    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def run_in_fresh_process(target: Callable[..., None], *args: Any) -> Any:
    """Run ``target(*args, queue)`` in a spawned process and return what it puts on the queue.

    Each measurement gets a process of its own, so that its peak memory and its thread
    settings are its own. ``target`` must be importable (a module-level function) and
    must put exactly one object on ``queue``.

    Raises
    ------
    RuntimeError
        If the child exits without reporting (it crashed or was killed).
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    try:
        while True:
            try:
                return queue.get(timeout=5.0)
            except queue_module.Empty:  # still running, or died without reporting?
                if not proc.is_alive():
                    raise RuntimeError(f"{target.__name__} exited with code "
                                       f"{proc.exitcode} without reporting") from None
    finally:
        proc.join()


def latency_ms(model: Any, x: Any, repeats: int = 50, warmup: int = 5) -> float:
    """Median time of ``model(x)`` in ms over ``repeats`` calls after ``warmup`` calls, in
    eval mode without gradients (``model`` is a ``torch.nn.Module``, ``x`` its input)."""
    import torch

    model.eval()
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
