"""The content-hash rules shared by run identities, checkpoints and the feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn._hashing import content_hash, file_sha256, random_state_digest


def test_kinds_never_collide_and_content_decides():
    a = np.arange(4, dtype=np.float32)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.astype(np.float64))  # dtype counts
    assert content_hash(a) != content_hash(a.reshape(2, 2))  # shape counts
    assert content_hash("1") != content_hash(1) != content_hash(1.0)
    assert content_hash(["ab", "c"]) != content_hash(["a", "bc"])
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})


def test_a_tensor_hashes_as_its_array():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert content_hash(torch.from_numpy(a)) == content_hash(a)


def test_files_by_content_strings_as_text(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert content_hash(path) != content_hash(str(path))
    before = content_hash(path)
    path.write_bytes(b"abd")
    assert content_hash(path) != before
    with pytest.raises(FileNotFoundError, match="nope"):
        file_sha256(tmp_path / "nope")


def test_what_has_no_content_is_refused():
    with pytest.raises(ValueError, match="object array"):
        content_hash(np.array([{}], dtype=object))
    with pytest.raises(TypeError, match="cannot hash a function"):
        content_hash(lambda: 0)


def test_random_states_are_told_apart_by_their_state():
    r0, r1 = np.random.RandomState(0), np.random.RandomState(1)
    assert random_state_digest(r0) != random_state_digest(r1)
    assert random_state_digest(r0) == random_state_digest(np.random.RandomState(0))
    g0 = np.random.default_rng(0)
    assert random_state_digest(g0) != random_state_digest(np.random.default_rng(1))
    assert random_state_digest(0) is None
