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
