"""Image backbones by name (torchvision / timm / Hugging Face), offline: every test runs
with sockets blocked and fails if any network connection is attempted."""

import shutil
import socket
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from neuroattn.estimators import BrainEncoderRegressor, extract_features
from neuroattn.estimators.backbones import (
    ImageTransform,
    backbone_layers,
    list_backbones,
    load_backbone,
)


@pytest.fixture(autouse=True)
def no_network(request, monkeypatch, tmp_path):
    """Block sockets and point every weight cache at an empty folder."""
    if request.node.get_closest_marker("network"):
        yield []
        return
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    try:  # huggingface_hub >= 1.x fetches an agent registry once per process: reset it
        from huggingface_hub import constants
        from huggingface_hub.utils import _detect_agent

        monkeypatch.setattr(_detect_agent, "_registry", None, raising=False)
        monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agents.json"),
                            raising=False)
    except ImportError:
        pass
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    yield attempts
    assert attempts == [], f"network attempted: {attempts[:2]}"


@pytest.fixture
def tv():
    return pytest.importorskip("torchvision")


@pytest.fixture
def images():
    return np.random.default_rng(0).random((2, 3, 40, 48)).astype(np.float32)


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_resnet18_by_name_through_extract_features(tv, images, tmp_path):
    feats = extract_features(images, "resnet18", "layer2", pretrained=False, device="cpu")
    # 40 x 48 images: shorter side to 256, centre crop 224, layer2 at stride 8 -> 28 x 28
    assert feats.tokens.shape == (2, 28 * 28, 128)
    assert feats.grid_shape == (28, 28)
    assert "layer4.1.conv2" in backbone_layers("resnet18")
    # the name path = the module path with the model's own transform
    module, transform = load_backbone("resnet18", pretrained=False)
    assert transform.resize == 256 and transform.crop == (224, 224)
    path = tmp_path / "r18.safetensors"
    save_file(module.state_dict(), str(path))
    by_name = extract_features(images, "resnet18", "layer2", weights=path, device="cpu")
    by_module = extract_features(images, module, "layer2", transform=transform, device="cpu")
    np.testing.assert_allclose(by_name.tokens, by_module.tokens, rtol=1e-5, atol=1e-6)


def test_named_backbone_is_cached_by_content(tv, images, tmp_path):
    path = tmp_path / "r18.safetensors"
    save_file(load_backbone("resnet18", pretrained=False)[0].state_dict(), str(path))
    kw = dict(weights=path, device="cpu", cache_dir=tmp_path / "cache", cache_key="r18")
    first = extract_features(images, "resnet18", "layer4", **kw)
    entry = next((tmp_path / "cache").glob("*.npy"))
    written = entry.stat().st_mtime_ns
    forwards = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: forwards.append(type(module).__name__))
    try:
        again = extract_features(images, "resnet18", "layer4", **kw)
    finally:
        handle.remove()
    np.testing.assert_array_equal(first.tokens, again.tokens)
    # a hit: the backbone never ran and the entry was not rewritten
    assert forwards == [] and entry.stat().st_mtime_ns == written


@pytest.mark.parametrize("name, close", [
    ("resnet5", "resnet50"), ("resnet18x", "resnet18"), ("torchvision:convnext_tiniest",
                                                         "convnext_tiny")])
def test_unknown_backbone_lists_close_names(tv, name, close):
    with pytest.raises(ValueError, match=f"Unknown backbone '{name}'.*{close}"):
        load_backbone(name, pretrained=False)


def test_unknown_layer_lists_close_names(tv, images):
    with pytest.raises(ValueError, match=r"no layer 'layer5'\. Close names: .*layer4"):
        extract_features(images, "resnet18", "layer5", pretrained=False, device="cpu")


@pytest.mark.parametrize("kwargs, match", [
    (dict(normalize="imagenet"), "normalises images itself"),
    (dict(weights="nowhere.safetensors"), "does not exist"),
])
def test_bad_named_backbone_arguments(tv, images, kwargs, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        extract_features(images, "resnet18", "layer1", pretrained=False, **kwargs)


def test_weights_with_a_module_is_refused(images):
    with pytest.raises(ValueError, match="only used with a backbone name"):
        extract_features(images, torch.nn.Conv2d(3, 2, 3), "", weights="w.safetensors")


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_local_checkpoint_loads_identical_weights(tv, tmp_path, suffix):
    ref = tv.models.resnet18()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pt":
        torch.save({"state_dict": ref.state_dict()}, path)  # a training-checkpoint wrapper
    else:
        save_file(ref.state_dict(), str(path))
    module, _ = load_backbone("resnet18", weights=str(path))  # pretrained ignored: no fetch
    assert _same_state(module, ref)


def test_checkpoint_of_another_model_is_refused(tv, tmp_path):
    path = tmp_path / "resnet34.safetensors"
    save_file(tv.models.resnet34().state_dict(), str(path))
    with pytest.raises(ValueError, match=r"resnet34\.safetensors does not match backbone "
                                         r"'resnet18'.*unexpected keys"):
        load_backbone("resnet18", weights=path)
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="Could not read weights file .*junk.safetensors"):
        load_backbone("resnet18", weights=bad)


def test_missing_pretrained_weights_offline(tv, tmp_path):
    expected = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(ValueError, match="(?s)'resnet18' are not in the cache .*"
                                         f"{expected}.*download.pytorch.org"):
        load_backbone("resnet18", download=False)


def test_cached_pretrained_weights_need_no_network(tv, tmp_path, no_network):
    ref = tv.models.resnet18()
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(ref.state_dict(), cached)
    module, _ = load_backbone("resnet18")  # download allowed, but the cache is used
    assert _same_state(module, ref)
    assert no_network == []


def test_encoder_accepts_a_backbone_name(tv, tmp_path):
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(tv.models.resnet18().state_dict(), cached)
    rng = np.random.default_rng(0)
    X, Y = rng.random((6, 3, 32, 32)).astype(np.float32), rng.normal(size=(6, 3))
    enc = BrainEncoderRegressor(backbone="resnet18", layer="layer4", max_epochs=1,
                                device="cpu", random_state=0, model__embed_dim=8,
                                model__n_heads=2)
    assert enc.fit(X, Y).predict(X[:2]).shape == (2, 3)


def test_image_transform_units():
    t = ImageTransform(8, (6, 6), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    out = t(torch.full((1, 1, 16, 32), 0.75))  # grey -> 3 colours, short side 8, crop 6
    assert out.shape == (1, 3, 6, 6)
    torch.testing.assert_close(out, torch.ones_like(out))
    with pytest.raises(ValueError, match=r"\(b, 1 or 3, H, W\)"):
        t(torch.zeros(3, 16, 16))


# -- timm --------------------------------------------------------------------------------

def test_timm_random_init_tokens(images):
    pytest.importorskip("timm")
    assert "timm:vit_tiny_patch16_224" in list_backbones("timm", pattern="vit_tiny")
    feats = extract_features(images, "timm:vit_tiny_patch16_224", "blocks.0",
                             pretrained=False, device="cpu")
    assert feats.tokens.shape == (2, 1 + 14 * 14, 192)  # class token + 14 x 14 patches
    assert feats.info["n_prefix_tokens"] == 1
    with pytest.raises(ValueError, match="not a timm model.*timm:vit_tiny_patch16_224"):
        load_backbone("timm:vit_tiny_patch16_22", pretrained=False)


def test_timm_missing_and_cached_weights_offline(tmp_path, no_network):
    timm = pytest.importorskip("timm")
    with pytest.raises(ValueError, match="(?s)'timm:resnet18' are not in the cache.*"
                                         "models--timm--resnet18.a1_in1k.*hf download"):
        load_backbone("timm:resnet18", download=False)
    # the hub cache layout (refs/main -> snapshots/<commit>/model.safetensors): read offline
    ref = timm.create_model("resnet18", pretrained=False)
    repo = tmp_path / "hf_home" / "hub" / "models--timm--resnet18.a1_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    save_file(ref.state_dict(), str(snap / "model.safetensors"))
    module, transform = load_backbone("timm:resnet18")
    assert _same_state(module, ref)
    assert transform.crop == (224, 224)
    assert no_network == []


# -- Hugging Face transformers -------------------------------------------------------------

@pytest.fixture
def dinov2_folder(tmp_path):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=64, image_size=32, patch_size=8)
    model = transformers.Dinov2Model(cfg)
    folder = tmp_path / "tiny_dinov2"
    model.save_pretrained(folder)
    transformers.BitImageProcessor(  # as facebook/dinov2-small's preprocessor_config.json
        size={"shortest_edge": 36}, crop_size={"height": 32, "width": 32},
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder, model


def test_hf_local_folder(dinov2_folder, images):
    folder, ref = dinov2_folder
    module, transform = load_backbone(f"hf:{folder}")
    assert _same_state(module, ref)
    assert transform.resize == 36 and transform.crop == (32, 32)
    assert transform.mean == pytest.approx((0.485, 0.456, 0.406))
    feats = extract_features(images, f"hf:{folder}", "encoder.layer.1", device="cpu")
    assert feats.tokens.shape == (2, 1 + 4 * 4, 32)  # class token + 4 x 4 patches
    # a hub name with a local copy given as weights: read from the folder, no network
    module, _ = load_backbone("hf:facebook/dinov2-small", weights=folder)
    assert _same_state(module, ref)
    random_init, _ = load_backbone(f"hf:{folder}", pretrained=False)
    assert not _same_state(random_init, ref)


def test_hf_cached_hub_model_needs_no_network(dinov2_folder, tmp_path, no_network):
    folder, ref = dinov2_folder
    repo = tmp_path / "hf_home" / "hub" / "models--facebook--dinov2-small"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("1" * 40)
    (repo / "snapshots").mkdir()
    shutil.copytree(folder, repo / "snapshots" / ("1" * 40))
    module, transform = load_backbone("hf:facebook/dinov2-small")  # download allowed
    assert _same_state(module, ref)
    assert transform.crop == (32, 32)
    assert no_network == []


def test_hf_clip_gives_the_vision_tower(tmp_path):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.CLIPConfig(
        text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, vocab_size=99, bos_token_id=0,
                         eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8),
        projection_dim=8)
    folder = tmp_path / "tiny_clip"
    transformers.CLIPModel(cfg).save_pretrained(folder)
    module, transform = load_backbone(f"hf:{folder}", pretrained=False)
    names = backbone_layers(f"hf:{folder}")
    assert not any("text" in n for n in names)
    layer = next(n for n in names if n.endswith("layers.1"))
    out = extract_features(np.random.default_rng(0).random((2, 3, 32, 32)), module, layer,
                           transform=transform, device="cpu")
    assert out.tokens.shape == (2, 1 + 4 * 4, 16)
    assert transform.resize == (32, 32)  # no processor saved: the config's image size


def test_hf_missing_weights_offline(monkeypatch, tmp_path):
    pytest.importorskip("transformers")
    expected = tmp_path / "hf_home" / "hub" / "models--facebook--dinov2-small"
    with pytest.raises(ValueError, match=f"(?s)not in the cache.*{expected}.*hf download"):
        load_backbone("hf:facebook/dinov2-small", download=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub's own switch: no download either
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE"):
        load_backbone("hf:facebook/dinov2-small")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_backbone(f"hf:{tmp_path / 'absent'}")


# -- real downloads (off by default) ------------------------------------------------------

@pytest.mark.network
@pytest.mark.parametrize("name, layer", [("resnet18", "layer4"),
                                         ("timm:vit_small_patch16_224", "blocks.11"),
                                         ("hf:facebook/dinov2-small", "encoder.layer.11")])
def test_pretrained_download(name, layer, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    images = np.random.default_rng(0).random((2, 3, 224, 224)).astype(np.float32)
    first = extract_features(images, name, layer, device="cpu")
    again = extract_features(images, name, layer, device="cpu")  # from the cache now
    np.testing.assert_allclose(first.tokens, again.tokens, rtol=1e-5)


# -- the `neuroattn encoding` command --------------------------------------------------------

def test_encoding_command_takes_a_backbone_name(tv, tmp_path, capsys):
    from PIL import Image

    from neuroattn.cli import main
    from neuroattn.data.encoding import ALGONAUTS_ROI_FAMILIES

    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(tv.models.resnet18().state_dict(), cached)  # "pretrained", read offline
    subj = tmp_path / "data" / "subj01"
    (subj / "training_split" / "training_images").mkdir(parents=True)
    (subj / "training_split" / "training_fmri").mkdir()
    (subj / "roi_masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(
            subj / "training_split" / "training_images" / f"train-{i + 1:04d}.png")
    for hemi in ("lh", "rh"):
        np.save(subj / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy",
                rng.normal(size=(8, 3)))
        for family in ALGONAUTS_ROI_FAMILIES:
            np.save(subj / "roi_masks" / f"{hemi}.{family}_challenge_space.npy",
                    np.array([1, 2, 0]) if family == "floc-faces" else np.zeros(3))
    base = ["encoding", "--algonauts", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
            "--max-epochs", "1", "--embed-dim", "8", "--n-heads", "2", "--device", "cpu"]
    assert main([*base, "--backbone", "resnet18"]) == 2
    assert "--backbone and --layer go together" in capsys.readouterr().err
    assert main([*base, "--backbone", "resnet18", "--layer", "layer4"]) == 0
    assert (tmp_path / "out" / "results.json").is_file()


def test_missing_library_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # as if timm were not installed
    with pytest.raises(ImportError, match=r"pip install timm.*neuroattn\[vision\]"):
        load_backbone("timm:resnet18", pretrained=False)


# ---------------------------------------------------------------- open_clip (issue 17)
@pytest.mark.slow  # importing open_clip takes 10-30 s
def test_open_clip_backbone_by_name_random_init_on_its_grid():
    pytest.importorskip("open_clip")
    names = list_backbones("open_clip", pattern="RN50")
    assert "open_clip:RN50" in names
    module, transform = load_backbone("open_clip:RN50", pretrained=False)
    assert transform.crop == (224, 224)
    assert "layer3" in backbone_layers("open_clip:RN50")
    images = np.random.default_rng(0).random((2, 3, 64, 64)).astype(np.float32)
    feats = extract_features(images, module, "layer2", transform=transform)
    assert feats.grid_shape == (28, 28) and feats.tokens.shape == (2, 784, 512)


@pytest.mark.network
def test_open_clip_pretrained_weights_are_fetched_on_first_use():
    pytest.importorskip("open_clip")
    module, _ = load_backbone("open_clip:RN50:openai", pretrained=True)
    assert sum(p.numel() for p in module.parameters()) > 1e7
