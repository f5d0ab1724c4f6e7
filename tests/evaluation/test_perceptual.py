"""LPIPS, DISTS and FID: unavailable without local weights; correct given weights. The networks here are
randomly initialised on purpose (the test builds the state and passes it in): they check the plumbing
and agreement with the reference implementations, never a reported number."""

from __future__ import annotations

import hashlib
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from torchvision.models import alexnet, vgg16

from evaluation.errors import MetricUnavailable
from evaluation.fid import InceptionFeatures, frechet_distance
from evaluation.metrics import build_metrics
from evaluation.perceptual import Dists, Lpips, dists_alpha_beta_path, load_dists, load_lpips, to_tensor
from evaluation.weights import ALEXNET, WeightFile, load_state


@pytest.fixture(scope="module")
def pictures():
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), (0, 0), 2.0)
    return base, cv2.GaussianBlur(base, (0, 0), 1.5)


def test_missing_weights_are_reported_unavailable(tmp_path):
    suite = build_metrics(["psnr_y", "lpips_alex", "lpips_vgg", "dists", "fid"], weights_dir=tmp_path)
    assert list(suite.per_image) == ["psnr_y"] and suite.fid_features is None
    assert set(suite.unavailable) == {"lpips_alex", "lpips_vgg", "dists", "fid"}
    assert (
        "alexnet-owt-7be5be79.pth" in suite.unavailable["lpips_alex"]
        and str(tmp_path) in suite.unavailable["lpips_alex"]
    )
    assert "vgg16-397923af.pth" in suite.unavailable["dists"]
    assert "pt_inception-2015-12-05-6726825d.pth" in suite.unavailable["fid"]
    with pytest.raises(MetricUnavailable, match="alexnet-owt-7be5be79.pth"):
        load_lpips("alex", tmp_path)


def test_a_file_with_the_wrong_hash_is_refused(tmp_path):
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / ALEXNET.file_name)
    with pytest.raises(MetricUnavailable, match="expected 7be5be79"):
        load_lpips("alex", tmp_path)


def test_a_file_with_its_hash_loads(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"w": torch.arange(3)}, path)
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    state, sha256 = load_state(WeightFile("weights.pth", "test weights", "here", prefix), "test", tmp_path)
    assert torch.equal(state["w"], torch.arange(3)) and sha256.startswith(prefix)


def test_lpips_uses_the_given_backbone_and_matches_the_lpips_package(pictures):
    import lpips

    torch.manual_seed(0)
    state = alexnet(weights=None).state_dict()  # random on purpose
    metric = Lpips("alex", state)
    assert torch.equal(metric.model.net.slice1[0].weight, state["features.0.weight"])
    reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    reference.net.load_state_dict(metric.model.net.state_dict())
    expected = reference(to_tensor(pictures[1], "cpu"), to_tensor(pictures[0], "cpu"), normalize=True).item()
    assert metric(pictures[1], pictures[0]) == pytest.approx(expected, rel=1e-5)
    assert metric(pictures[0], pictures[0]) == pytest.approx(0.0, abs=1e-7)


def test_dists_matches_the_authors_code(pictures):
    from DISTS_pytorch import DISTS_pt

    torch.manual_seed(0)
    random_vgg = vgg16(weights=None)  # random on purpose
    alpha_beta = torch.load(dists_alpha_beta_path(), weights_only=True)
    ours = Dists(random_vgg.state_dict(), alpha_beta)
    with mock.patch.object(DISTS_pt.models, "vgg16", lambda **kwargs: random_vgg):
        reference = DISTS_pt.DISTS(load_weights=False)
    reference.alpha.data, reference.beta.data = alpha_beta["alpha"], alpha_beta["beta"]
    expected = reference(to_tensor(pictures[1], "cpu"), to_tensor(pictures[0], "cpu")).item()
    assert ours(pictures[1], pictures[0]) == pytest.approx(expected, rel=1e-5)
    assert ours(pictures[0], pictures[0]) == pytest.approx(0.0, abs=1e-5)


def test_dists_loader_needs_the_vgg_file(tmp_path):
    with pytest.raises(MetricUnavailable, match="vgg16-397923af.pth"):
        load_dists(tmp_path)


def _random_fid_inception_state() -> dict:
    """The FID Inception architecture (pytorch_fid.inception.fid_inception_v3) with random weights."""
    from pytorch_fid import inception as fid_inception

    net = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = fid_inception.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fid_inception.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fid_inception.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fid_inception.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fid_inception.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fid_inception.FIDInceptionE_1(1280)
    net.Mixed_7c = fid_inception.FIDInceptionE_2(2048)
    return net.state_dict()


def test_fid_features_and_distance(pictures):
    torch.manual_seed(0)
    extractor = InceptionFeatures(_random_fid_inception_state())  # random on purpose
    features = extractor(pictures[0])
    assert features.shape == (2048,) and np.all(np.isfinite(features))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 3)), rng.normal(loc=2.0, size=(40, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # diagonal-ish Gaussians: FID >= squared mean distance, here about 3 * 2^2
    assert frechet_distance(a, b) == pytest.approx(np.sum((a.mean(0) - b.mean(0)) ** 2), rel=0.3)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], b)
