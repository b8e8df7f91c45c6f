"""The feature cache is keyed on the whole backbone state and the transform; the
backbone is handed back where and how it was."""

import functools

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
