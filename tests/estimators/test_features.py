"""The feature cache is keyed on the whole backbone state and the transform; the
backbone is handed back where and how it was."""

import functools
import json
import os
import stat

import numpy as np
import pytest
import torch

from neuroattn.estimators import extract_features


class _Net(torch.nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.stem = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.down = torch.nn.Conv2d(4, 3, 4, stride=4)
        with torch.no_grad():
            for p in self.parameters():  # multiples of 1/16: sums exact in any order
                p.copy_(torch.round(torch.randn(p.shape, generator=gen) * 5) / 16)
        self.log = []

    def forward(self, x):
        self.log.append("forward")
        return self.down(self.stem(x))

    def to(self, *args, **kwargs):
        self.log.append(("to", torch.device(args[0]) if args else kwargs.get("device")))
        return super().to(*args, **kwargs)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((6, 1, 16, 16)).astype(np.float32)


def _permuted(net):
    """A copy whose stem weights are permuted: same sums and absolute sums."""
    other = _Net()
    other.load_state_dict(net.state_dict())
    with torch.no_grad():
        w = other.stem.weight
        w.copy_(w.flatten().flip(0).reshape(w.shape))
    return other


def test_permuted_weights_with_equal_sums_get_their_own_cache_entry(images, tmp_path):
    a = _Net()
    b = _permuted(a)
    for t, u in zip(a.state_dict().values(), b.state_dict().values()):
        assert t.sum() == u.sum() and t.abs().sum() == u.abs().sum()
    assert not torch.equal(a.stem.weight, b.stem.weight)
    fa = extract_features(images, a, "down", device="cpu", cache_dir=tmp_path)
    fb = extract_features(images, b, "down", device="cpu", cache_dir=tmp_path)
    fresh = extract_features(images, _permuted(_Net()), "down", device="cpu")
    np.testing.assert_allclose(fb.tokens, fresh.tokens, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fa.tokens, fb.tokens)
    assert len(list(tmp_path.glob("*.npy"))) == 2
    # The same backbone state is read back from the cache, not run.
    n_forward = b.log.count("forward")
    extract_features(images, b, "down", device="cpu", cache_dir=tmp_path)
    assert b.log.count("forward") == n_forward


def test_transform_is_part_of_the_key(images, tmp_path):
    net = _Net()
    plain = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    scaled = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                              transform=functools.partial(torch.mul, other=2.0))
    assert not np.allclose(plain.tokens, scaled.tokens)
    halved = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                              transform=functools.partial(torch.mul, other=0.5))
    assert not np.allclose(scaled.tokens, halved.tokens)
    again = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                             transform=functools.partial(torch.mul, other=2.0))
    np.testing.assert_array_equal(again.tokens, scaled.tokens)
    assert len(list(tmp_path.glob("*.npy"))) == 3


@pytest.mark.parametrize("training", [True, False])
def test_backbone_is_moved_back_and_its_mode_restored(images, training):
    net = _Net().train(training)
    home = next(net.parameters()).device
    extract_features(images, net, "down", device="cpu")
    assert net.training is training
    assert next(net.parameters()).device == home
    last_forward = max(i for i, e in enumerate(net.log) if e == "forward")
    moves = [e for e in net.log[last_forward:] if e != "forward"]
    assert moves == [("to", home)]  # moved back after the extraction


def test_backbone_on_several_devices_is_refused(images):
    net = _Net()
    net.stem.to("meta")
    with pytest.raises(ValueError, match="several devices"):
        extract_features(images, net, "down", device="cpu")


# ------------------------------------------------------- the cache is keyed on content
def _stale_check(images, tmp_path, first, second, **kwargs):
    """Extract ``first`` then ``second`` under one cache_key: the second must be what a
    fresh, uncached extraction gives, with a warning naming the replaced entry."""
    a_net, a_layer, a_kw = first
    b_net, b_layer, b_kw = second
    extract_features(a_kw.pop("images", images), a_net, a_layer, device="cpu",
                     cache_dir=tmp_path, cache_key="mine", **a_kw)
    b_images = b_kw.pop("images", images)
    with pytest.warns(UserWarning, match=r"mine\.npy.*other inputs"):
        cached = extract_features(b_images, b_net, b_layer, device="cpu", cache_dir=tmp_path,
                                  cache_key="mine", **b_kw)
    fresh = extract_features(b_images, b_net, b_layer, device="cpu", **b_kw)
    np.testing.assert_array_equal(cached.tokens, fresh.tokens)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.json", "mine.npy"]


def test_reused_cache_key_with_other_weights_recomputes(images, tmp_path):
    a = _Net()
    _stale_check(images, tmp_path, (a, "down", {}), (_permuted(a), "down", {}))


def test_reused_cache_key_with_other_layer_recomputes(images, tmp_path):
    net = _Net()
    _stale_check(images, tmp_path, (net, "down", {}), (net, "stem", {}))


def test_reused_cache_key_with_other_images_recomputes(images, tmp_path):
    other = images.copy()
    other[3, 0, 5, 5] += 0.25
    net = _Net()
    _stale_check(images, tmp_path, (net, "down", {}), (net, "down", {"images": other}))


def _scale_by(factor):
    return lambda x: x * factor


@pytest.mark.parametrize("first, second", [
    (functools.partial(torch.mul, other=torch.tensor(2.0)),
     functools.partial(torch.mul, other=torch.tensor(3.0))),
    (_scale_by(1.0), _scale_by(3.0)),  # same code, other closure
    (None, torch.nn.Upsample(scale_factor=2)),
    (torch.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=3)),
])
def test_reused_cache_key_with_other_transform_recomputes(images, tmp_path, first, second):
    net = _Net()
    _stale_check(images, tmp_path, (net, "down", {"transform": first}),
                 (net, "down", {"transform": second}))


def test_transform_tensors_with_equal_reprs_get_their_own_entries(images, tmp_path):
    w = torch.ones(2000)
    v = w.clone()
    v[1000] = 5.0
    assert repr(w) == repr(v)  # torch elides the middle of long tensors
    net = _Net()

    def scale_by_element(t):
        return lambda x: x * t[1000]

    extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                     transform=scale_by_element(w))
    other = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                             transform=scale_by_element(v))
    fresh = extract_features(images, net, "down", device="cpu", transform=scale_by_element(v))
    np.testing.assert_array_equal(other.tokens, fresh.tokens)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_same_inputs_are_read_back_across_labels(images, tmp_path):
    net = _Net()
    first = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                             cache_key="run1")
    n_forward = net.log.count("forward")
    again = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path,
                             cache_key="run1")
    assert net.log.count("forward") == n_forward  # a hit: the backbone did not run
    np.testing.assert_array_equal(first.tokens, again.tokens)
    assert again.info["layer"] == "down"


def test_image_files_are_keyed_on_their_bytes(tmp_path):
    from PIL import Image

    folder, cache = tmp_path / "imgs", tmp_path / "cache"
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = [folder / f"{i}.bmp" for i in range(3)]  # uncompressed: same size whatever
    for p in paths:
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(p)
    net = _Net()
    first = extract_features(folder, net, "down", device="cpu", cache_dir=cache,
                             normalize=((0.5,) * 3, (0.5,) * 3), transform=_grey)
    stat = paths[1].stat()
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(paths[1])
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same name, size, time
    assert paths[1].stat().st_size == stat.st_size
    second = extract_features(folder, net, "down", device="cpu", cache_dir=cache,
                              normalize=((0.5,) * 3, (0.5,) * 3), transform=_grey)
    assert not np.array_equal(first.tokens[1], second.tokens[1])
    np.testing.assert_array_equal(first.tokens[0], second.tokens[0])


def _grey(x):
    return x.mean(dim=1, keepdim=True)


# ------------------------------------------------------- the cache is checked on read
def _one_entry(tmp_path):
    (npy,) = tmp_path.glob("*.npy")
    return npy, npy.with_suffix(".json")


def test_corrupted_cache_bytes_are_detected_and_recomputed(images, tmp_path):
    net = _Net()
    good = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    expected = np.array(good.tokens)
    del good
    npy, _ = _one_entry(tmp_path)
    data = bytearray(npy.read_bytes())
    data[-7] ^= 0xFF  # one flipped byte, same size
    npy.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=rf"{npy.name}.*SHA-256"):
        again = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.tokens, expected)
    # and the entry was rewritten whole: read back without a warning
    n_forward = net.log.count("forward")
    extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    assert net.log.count("forward") == n_forward


@pytest.mark.parametrize("damage", ["truncated-json", "not-json", "no-checksum"])
def test_damaged_cache_record_is_a_miss_with_a_warning(images, tmp_path, damage):
    net = _Net()
    expected = np.array(extract_features(images, net, "down", device="cpu",
                                         cache_dir=tmp_path).tokens)
    _, meta = _one_entry(tmp_path)
    text = meta.read_text()
    if damage == "truncated-json":
        meta.write_text(text[: len(text) // 2])
    elif damage == "not-json":
        meta.write_bytes(b"\x00\xff" * 20)
    else:
        record = json.loads(text)
        del record["sha256"]
        meta.write_text(json.dumps(record))
    with pytest.warns(UserWarning, match=meta.stem):
        again = extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.tokens, expected)


def test_cache_files_follow_the_umask_and_interruptions_leave_nothing(images, tmp_path):
    old = os.umask(0o027)
    try:
        extract_features(images, _Net(), "down", device="cpu", cache_dir=tmp_path)
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path

    calls = []

    def fail_on_second_batch(x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return x

    target = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        extract_features(images, _Net(), "down", device="cpu", cache_dir=target,
                         batch_size=2, transform=fail_on_second_batch)
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("cache_key", ["../escape", "a/b", "", ".hidden", "x" * 200])
def test_cache_key_must_be_a_plain_name(images, tmp_path, cache_key):
    with pytest.raises(ValueError, match="cache_key"):
        extract_features(images, _Net(), "down", device="cpu", cache_dir=tmp_path / "c",
                         cache_key=cache_key)
    assert not (tmp_path / "escape.npy").exists()


def test_cache_key_without_cache_dir_is_refused(images):
    with pytest.raises(ValueError, match="cache_key.*cache_dir"):
        extract_features(images, _Net(), "down", device="cpu", cache_key="mine")


# ------------------------------------------------------------------- non-finite input
def test_nan_images_are_refused(images):
    bad = images.copy()
    bad[4, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN.*image 4"):
        extract_features(bad, _Net(), "down", device="cpu")


def test_backbone_output_with_nan_is_refused(images, tmp_path):
    net = _Net()
    with torch.no_grad():
        net.down.bias[1] = float("nan")
    with pytest.raises(ValueError, match="'down' output NaN.*image 0"):
        extract_features(images, net, "down", device="cpu", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
