"""Every error about a missing weight file says where the file goes and the weight-free way to go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.errors import MetricUnavailable
from evaluation.weights import ALEXNET, weight_path
from training.losses import load_lpips
from training.models.open_backbones import spandrel_file_state
from training.models.pretrained import resolve_pretrained
from training.models.rrdbnet import RRDBNet, load_realesrgan_weights
from training.models.vision_aided import VisionAidedDiscriminator


def test_lpips_for_training_names_the_file_and_target_mse(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError) as error:
        load_lpips(net="alex")
    assert str(tmp_path / "hub" / "hub" / "checkpoints" / ALEXNET.file_name) in str(error.value)  # $TORCH_HOME/hub
    assert "--target mse" in str(error.value)


def test_metric_weights_name_the_folder_and_the_weight_free_metrics(tmp_path: Path) -> None:
    with pytest.raises(MetricUnavailable) as error:
        weight_path(ALEXNET, "lpips_alex", tmp_path)
    assert f"into {tmp_path}" in error.value.reason and "--metrics psnr_y,ssim_y" in error.value.reason


def test_sd_turbo_names_the_folder_and_the_weight_free_backbones(tmp_path: Path) -> None:
    for missing in (tmp_path / "sd-turbo", "nobody/not-cached"):
        with pytest.raises(FileNotFoundError) as error:
            resolve_pretrained(missing)
        assert "--backbone small" in str(error.value) and "--backbone rrdbnet" in str(error.value)
    with pytest.raises(FileNotFoundError, match="download stabilityai/sd-turbo to .*sd-turbo"):
        resolve_pretrained(tmp_path / "sd-turbo")


def test_spandrel_file_names_the_file_and_the_networks_without_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        spandrel_file_state(tmp_path / "4x-Compact.pth")
    assert str(tmp_path / "4x-Compact.pth") in str(error.value) and "--backbone rrdbnet" in str(error.value)


def test_realesrgan_and_dino_name_the_file_and_the_way_without(tmp_path: Path) -> None:
    model = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4)
    with pytest.raises(FileNotFoundError) as error:
        load_realesrgan_weights(model, tmp_path / "RealESRGAN_x4plus.pth")
    assert str(tmp_path / "RealESRGAN_x4plus.pth") in str(error.value) and "leave out --pretrained" in str(error.value)
    with pytest.raises(FileNotFoundError) as error:
        VisionAidedDiscriminator(weights=tmp_path / "dino.pth")
    assert str(tmp_path / "dino.pth") in str(error.value) and "--discriminator patch" in str(error.value)
