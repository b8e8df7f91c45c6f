"""Shared fixtures: where the real recordings are, small simulated data, torch threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

#: ../shared/data beside the project root, or NEUROATTN_SHARED_DATA.
SHARED_DATA = Path(os.environ.get(
    "NEUROATTN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

# One thread per test process: the models under test are small, and on a shared or
# oversubscribed machine OpenMP threads spinning against each other cost far more than
# a second core gains.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real recordings not found at {SHARED_DATA} "
                                   "(set NEUROATTN_SHARED_DATA)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the read-only real recordings (tests using it are marked ``realdata``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mne_data_env(shared_data, tmp_path_factory):
    """Environment for MNE/MOABB to load EEGMMIDB offline from ``shared_data``."""
    home = tmp_path_factory.mktemp("home")
    env = {"MNE_DATA": str(shared_data / "mne_data"),
           "MNE_DATASETS_EEGBCI_PATH": str(shared_data / "mne_data"),
           "MOABB_DOWNLOAD_PROVIDER": "upstream", "HOME": str(home)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _lsl_problem() -> str | None:
    """Why LSL cannot stream on localhost here (None when it can)."""
    import uuid

    try:
        from mne_lsl.lsl import StreamInfo, StreamOutlet, resolve_streams
    except ImportError as exc:  # the `lsl` extra is not installed
        return f"mne-lsl is not installed ({exc})"
    sid = uuid.uuid4().hex
    try:
        outlet = StreamOutlet(StreamInfo("probe", "EEG", 1, 10.0, "float32", sid))
        found = resolve_streams(timeout=3.0, source_id=sid)
        del outlet
    except Exception as exc:  # liblsl missing, no socket, no multicast...
        return f"LSL cannot open a socket on localhost: {type(exc).__name__}: {exc}"
    return None if found else "LSL cannot resolve a stream on localhost (no socket/multicast)"


@pytest.fixture(scope="session")
def lsl():
    """Skip unless LSL streams on localhost; gives the PlayerLSL class tests play with.

    The player starts its clock when the monitor connects, so no chunk is lost.
    """
    problem = _lsl_problem()
    if problem:
        pytest.skip(problem)
    from mne_lsl.lsl import local_clock
    from mne_lsl.player import PlayerLSL

    class Player(PlayerLSL):
        def _stream(self):
            if not getattr(self, "_waited", False):
                self._waited = True
                self._outlet.wait_for_consumers(timeout=10.0)
                self._target_timestamp = local_clock()
            super()._stream()

    return Player
