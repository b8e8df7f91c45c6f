"""Per-job records of long evaluations, kept as each job ends and read back on a rerun.

A job is a fold (:func:`~neuroattn.benchmark.fmri.evaluate_fmri`,
:func:`~neuroattn.benchmark.seizure.evaluate_leave_one_seizure_out`) or a pipeline x
dataset x subject (:func:`~neuroattn.benchmark.mi.run`). Its record is one small JSON
file, written atomically (:func:`neuroattn._files.atomic_write`) the moment the job
ends, so an interrupted run loses at most the job in progress. ``run.json`` in the same
folder holds the identity of the run (its parameters and a hash of its data); a rerun
on the folder continues with the jobs not yet recorded, and a run with other parameters
or data is refused instead of mixing its jobs with the old ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, check_output_dir
from .._hashing import content_hash, random_state_digest, without_addresses

__all__ = ["JobRecords", "fingerprint", "dataset_fingerprint", "data_hash", "encode_arrays",
           "decode_arrays", "count_records"]

logger = logging.getLogger(__name__)

#: Keyword arguments that do not change results: left out of a run's identity, so a
#: rerun on another device or with other verbosity continues the same run.
_NOT_COMPARED = re.compile(r"\b(device|verbose)=('[^']*'|\"[^\"]*\"|[^,()]*)(, )?")


def fingerprint(obj: Any) -> str:
    """Stable text of an estimator's (or any object's) parameters, for a run's identity.

    scikit-learn estimators are written with their full ``repr`` (not shortened);
    memory addresses (``<function f at 0x7f...>``) are removed, and so are ``device``
    and ``verbose``. A ``RandomState`` or ``Generator`` parameter (anywhere in a
    pipeline) is identified by a hash of its state: its repr alone does not tell
    ``RandomState(0)`` from ``RandomState(1)``.
    """
    try:
        text = obj.__repr__(N_CHAR_MAX=10**7)  # BaseEstimator: the whole repr
    except TypeError:
        text = repr(obj)
    text = _NOT_COMPARED.sub("", without_addresses(text)).replace(", )", ")")
    if hasattr(obj, "get_params"):
        states = [f"{name}:{digest}" for name, value in sorted(obj.get_params(deep=True).items())
                  if (digest := random_state_digest(value)) is not None]
        if states:
            text += f" [random states {', '.join(states)}]"
    return text


def _record_files(folder: Path) -> list[Path]:
    """The job records of a :class:`JobRecords` folder (``run.json`` is its identity)."""
    return sorted(p for p in folder.glob("*.json") if p.name != "run.json")


def count_records(folder: str | Path) -> int:
    """Finished job records in a :class:`JobRecords` folder (0 when it does not exist)."""
    return len(_record_files(Path(folder)))


def dataset_fingerprint(dataset: Any) -> str:
    """A MOABB dataset's class and settings, for a run's identity (its subject list and
    private state left out: subjects are per job). ``PhysionetMI(imagined=False)`` and
    ``PhysionetMI()`` share a ``code`` but not a fingerprint."""
    items = {k: v for k, v in sorted(vars(dataset).items())
             if not k.startswith("_") and k != "subject_list" and not callable(v)}
    return f"{type(dataset).__module__}.{type(dataset).__qualname__}" + fingerprint(items)


def data_hash(*parts: Any) -> str:
    """SHA-256 of a run's data (arrays, strings, numbers, lists), as hex text
    (:func:`neuroattn._hashing.content_hash`)."""
    return content_hash(*parts)


def encode_arrays(obj: Any) -> Any:
    """numpy arrays and scalars as JSON values; arrays keep their dtype and shape."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.ravel().tolist(), "dtype": obj.dtype.str,
                "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): encode_arrays(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_arrays(v) for v in obj]
    return obj


def decode_arrays(obj: Any) -> Any:
    """Inverse of :func:`encode_arrays` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.asarray(obj["__ndarray__"], dtype=obj["dtype"]).reshape(obj["shape"])
        return {k: decode_arrays(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_arrays(v) for v in obj]
    return obj


class JobRecords:
    """The records of one resumable run in ``folder``.

    Call :meth:`open` (under a :class:`~neuroattn._files.FolderLock` of the folder)
    before :meth:`load` / :meth:`save`.

    Parameters
    ----------
    folder : str | Path
        Folder of ``run.json`` and one ``<job>.json`` per finished job (created).
    identity : dict
        JSON-serialisable parameters and data hash of the run.
    overwrite : bool
        Delete the records of a previous run in ``folder`` instead of continuing it.
    parameter : str
        The parameter or flag named in error messages.
    """

    def __init__(self, folder: str | Path, identity: dict, *, overwrite: bool = False,
                 parameter: str = "checkpoint_dir") -> None:
        self.folder = Path(folder)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.key = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()
                                  ).hexdigest()
        self.overwrite = overwrite
        self.parameter = parameter

    def _records(self) -> list[Path]:
        return _record_files(self.folder)

    def _read(self, path: Path) -> dict:
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable job record ({exc}); delete it or "
                             "pass overwrite=True (--overwrite) to start again.") from None
        if not isinstance(record, dict) or "run" not in record:
            raise ValueError(f"{path}: not a job record of neuroattn (no 'run' key); delete "
                             "it or pass overwrite=True (--overwrite) to start again.")
        return record

    def open(self) -> JobRecords:
        """Create the folder, check it holds this run (or none), write ``run.json``.

        Raises
        ------
        ValueError
            If the folder holds the records of a run with other parameters or data and
            ``overwrite`` is False (the message names the folder and what differs).
        """
        check_output_dir(self.folder, parameter=self.parameter)
        run_file = self.folder / "run.json"
        if self.overwrite:
            for path in [*self._records(), run_file]:
                path.unlink(missing_ok=True)
        elif run_file.exists():
            old = self._read(run_file)
            if old["run"] != self.key:
                before = old.get("identity", {})
                diff = sorted(k for k in set(before) | set(self.identity)
                              if before.get(k) != self.identity.get(k))
                raise ValueError(
                    f"{self.parameter} {self.folder} holds the records of another run "
                    f"(different {', '.join(diff) or 'identity'}); choose another folder "
                    "or pass overwrite=True (--overwrite) to discard them.")
        elif self._records():
            raise ValueError(f"{self.parameter} {self.folder} holds .json files but no "
                             "run.json: not a folder of neuroattn job records; choose "
                             "another folder or pass overwrite=True (--overwrite).")
        text = json.dumps({"run": self.key, "identity": self.identity}, indent=1)
        atomic_write(run_file, lambda fh: fh.write(text))
        return self

    def path(self, job: str) -> Path:
        """The record file of ``job`` (a short file-name-safe id)."""
        return self.folder / f"{job}.json"

    def load(self, job: str) -> dict | None:
        """The record of a finished job, or None.

        Raises
        ------
        ValueError
            If the record is unreadable or belongs to another run.
        """
        path = self.path(job)
        if not path.exists():
            return None
        record = self._read(path)
        if record["run"] != self.key:
            raise ValueError(f"{path} belongs to another run than run.json of "
                             f"{self.folder}; delete it or pass overwrite=True (--overwrite).")
        return decode_arrays(record["data"])

    def save(self, job: str, data: dict) -> Path:
        """Write the record of a finished job atomically."""
        text = json.dumps({"run": self.key, "job": job, "data": encode_arrays(data)})
        return atomic_write(self.path(job), lambda fh: fh.write(text))


def job_id(*parts: Any) -> str:
    """A file-name-safe, collision-free id of a job named by ``parts``."""
    text = "__".join(str(p) for p in parts)
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "_", text)[:80]
    return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
