"""vrpsr import-checkpoint end to end on tiny SD-Turbo-shaped weights saved as a model folder: the imported
folders load through the evaluation plug-ins and start a simulator training (--init-from)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.training.checkpoint_import.test_s3diff import _parts
from tests.training.published_s3diff import PublishedS3Diff
from tests.training.sr_batches import sr_batches
from training.inference import load_post_checkpoint, load_simulator_checkpoint, load_sr_checkpoint
from training.loop import TrainConfig
from training.models.build import GeneratorSpec, SimulatorArchitecture
from training.models.s3diff.de_net import DEResNet
from training.trainers.simulator import SimulatorTrainConfig, train_simulator
from training.trainers.sr import SRTrainConfig, train_sr
from vrpsr_cli.import_command import KIND_NAMES
from vrpsr_cli.main import main


@pytest.fixture()
def published_files(tiny_parts: dict, tmp_path: Path) -> dict:
    """A tiny SD-Turbo folder, de_net.pth, and S3Diff / VRPSR files in the published layout."""
    parts = _parts(tiny_parts)
    for name in ("vae", "unet", "text_encoder", "tokenizer", "scheduler"):
        parts[name].save_pretrained(tmp_path / "sd-turbo" / name)
    torch.save(DEResNet().state_dict(), tmp_path / "de_net.pth")
    for meta, name in ((True, "vrpsr.pkl"), (False, "s3diff.pkl")):
        PublishedS3Diff(**_parts(tiny_parts), meta=meta).save_model(tmp_path / name)
    return {
        "sd": str(tmp_path / "sd-turbo"),
        "de_net": str(tmp_path / "de_net.pth"),
        "vrpsr": str(tmp_path / "vrpsr.pkl"),
        "s3diff": str(tmp_path / "s3diff.pkl"),
    }


def _import(kind: str, file: str, out: Path, files: dict) -> Path:
    assert (
        main(["import-checkpoint", kind, file, str(out), "--pretrained", files["sd"], "--de-net", files["de_net"]]) == 0
    )
    return out


def test_imported_checkpoints_load_in_eval_and_train(published_files: dict, tmp_path: Path, codec_batches) -> None:
    picture = np.random.default_rng(0).integers(0, 256, (30, 28, 3), dtype=np.uint8)  # padded to 32 inside
    sr = load_sr_checkpoint(str(_import("vrpsr_s3diff", published_files["vrpsr"], tmp_path / "sr", published_files)))
    assert sr(picture, "x265", 0.4).shape == (30, 28, 3) and sr.generator.settings.condition_units == "official-kB"
    simulator = load_simulator_checkpoint(
        str(_import("simulator", published_files["vrpsr"], tmp_path / "sim", published_files))
    )
    assert simulator(picture, "vvenc", 0.4).shape == (30, 28, 3)
    post = load_post_checkpoint(str(_import("post_sr", published_files["vrpsr"], tmp_path / "post", published_files)))
    assert post(picture, "x264", 0.4).dtype == np.uint8
    s3diff = _import("s3diff", published_files["s3diff"], tmp_path / "s3diff", published_files)
    assert load_sr_checkpoint(str(s3diff))(picture, "x264", 0.4).shape == (30, 28, 3)

    config = SimulatorTrainConfig(  # the paper's stage 1: the simulator starts from the published S3Diff
        TrainConfig(output_dir=str(tmp_path / "run"), max_steps=1, target="mse", progress_bar=False),
        SimulatorArchitecture(backbone="s3diff", pretrained=published_files["sd"]),
        init_from=str(s3diff),
    )
    result = train_simulator(config, codec_batches[:1])
    trained = load_file(str(result.checkpoint / "model.safetensors"))
    started = load_file(str(s3diff / "model.safetensors"))
    assert torch.equal(trained["degradation.fourier_basis"], started["generator.degradation.fourier_basis"])
    assert not torch.equal(trained["unet.conv_in.weight"], started["generator.unet.conv_in.weight"])  # it trained
    assert json.loads((result.checkpoint / "config.json").read_text())["init_from"] == str(s3diff)


def test_sr_fine_tuned_from_an_imported_model_loads_in_eval_with_its_ema(
    published_files: dict, tmp_path: Path, photo_dir: Path
) -> None:
    imported = _import("vrpsr_s3diff", published_files["vrpsr"], tmp_path / "sr", published_files)
    record = json.loads((imported / "config.json").read_text())["generator"]
    spec = GeneratorSpec(
        backbone="s3diff",
        scale=1,
        pretrained=published_files["sd"],
        init_weights=str(imported),
        s3diff=record["s3diff"],
    )
    config = SRTrainConfig(
        TrainConfig(output_dir=str(tmp_path / "run"), max_steps=1, target="mse", ema_decay=0.5, progress_bar=False),
        spec,
        supervision="clean",
    )
    result = train_sr(config, sr_batches(photo_dir, crops=2, batch_size=2, upsample_lq=True))
    saved = load_file(str(result.checkpoint / "model.safetensors"))
    assert torch.equal(
        saved["generator.degradation_estimator.conv_first.0.weight"],  # frozen parts travel along
        load_file(str(imported / "model.safetensors"))["generator.degradation_estimator.conv_first.0.weight"],
    )
    picture = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for use_ema in (False, True):
        resolver = load_sr_checkpoint(str(result.checkpoint), use_ema=use_ema)
        assert resolver.generator.settings.condition_units == "official-kB"
        assert resolver(picture, "x264", 0.3).shape == (32, 32, 3)


def test_cli_refuses_pickled_code_and_names_the_file(tmp_path: Path, capsys) -> None:
    torch.save(torch.nn.Linear(2, 2), tmp_path / "VRPSR_realesrgan.pkl")  # a whole pickled module, as published
    assert (
        main(["import-checkpoint", "vrpsr_realesrgan", str(tmp_path / "VRPSR_realesrgan.pkl"), str(tmp_path / "o")])
        == 2
    )
    error = capsys.readouterr().err
    assert "VRPSR_realesrgan.pkl needs code unpickled" in error and "state_dict()" in error
    assert not (tmp_path / "o").exists()
    torch.save(DEResNet().state_dict(), tmp_path / "de_net.pth")
    assert main(["import-checkpoint", "de_net", str(tmp_path / "de_net.pth"), str(tmp_path / "de")]) == 0
    assert main(["import-checkpoint", "de_net", str(tmp_path / "de_net.pth"), str(tmp_path / "de")]) == 2  # not empty
    assert "exists and is not empty" in capsys.readouterr().err


def test_cli_kinds_are_the_importers_and_listing_them_imports_no_torch() -> None:
    from training.checkpoint_import import KINDS

    assert tuple(sorted(KINDS)) == KIND_NAMES
    code = "import sys, vrpsr_cli.import_command; sys.exit('torch' in sys.modules)"
    import subprocess

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
