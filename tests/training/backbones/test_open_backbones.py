"""py: and spandrel: networks train through the small simulator and come back from their checkpoints alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evaluation.models import resolve_model
from tests.training.backbones.spandrel_files import spandrel_file
from tests.training.sr_batches import sr_batches, tiny_simulator
from training.inference import load_sr_checkpoint, run_on_picture
from training.loop import TrainConfig
from training.models.build import GeneratorSpec, build_generator
from training.models.open_backbones import resolved_generator_spec
from training.trainers.sr import SRTrainConfig, train_sr
from vrpsr_cli.eval_command import register_checkpoint_loaders
from vrpsr_cli.main import main

NETWORKS = "py:tests.training.backbones.networks"
BACKBONES = [f"{NETWORKS}:PictureOnlyNet", f"{NETWORKS}:ConditionAwareNet", "ESRGAN", "Compact", "SwinIR"]


def _train_config(output_dir: Path) -> TrainConfig:
    return TrainConfig(
        output_dir=str(output_dir),
        max_steps=3,
        learning_rate=1e-3,
        target="mse",
        lpips_pretrained_backbone=False,
        discriminator="patch",
        discriminator_channels=8,
        progress_bar=False,
    )


def _named(backbone: str, folder: Path) -> str:
    return backbone if backbone.startswith("py:") else f"spandrel:{spandrel_file(backbone, folder)}"


def _trained(backbone: str, photo_dir: Path, tmp_path: Path) -> tuple[torch.nn.Module, Path]:
    spec = resolved_generator_spec(GeneratorSpec(backbone=_named(backbone, tmp_path)))
    generator = build_generator(spec)
    before = {name: value.clone() for name, value in generator.state_dict().items()}
    config = SRTrainConfig(_train_config(tmp_path / "run"), generator=spec)
    result = train_sr(
        config, sr_batches(photo_dir, crops=6, batch_size=2), generator=generator, simulator=tiny_simulator()
    )
    assert any(not torch.equal(generator.state_dict()[name], value) for name, value in before.items())
    return generator.eval(), result.checkpoint


@pytest.mark.parametrize("backbone", BACKBONES)
def test_named_network_trains_and_eval_rebuilds_it_from_the_checkpoint(backbone, photo_dir, tmp_path) -> None:
    generator, checkpoint = _trained(backbone, photo_dir, tmp_path)
    record = json.loads((checkpoint / "config.json").read_text())["generator"]
    assert record["scale"] == 4 and record["condition"] == (
        "native" if "ConditionAware" in backbone else record["condition"]
    )
    if not backbone.startswith("py:"):
        assert record["spandrel"]["architecture"] == backbone and len(record["spandrel"]["sha256"]) == 64
        (tmp_path / f"{backbone}.pth").unlink()  # the checkpoint alone rebuilds it: no source file needed
    register_checkpoint_loaders()
    model = resolve_model(f"checkpoint:{checkpoint}", 4)  # what `vrpsr eval --model NAME=checkpoint:...` runs
    picture = np.asarray(Image.open(sorted(photo_dir.glob("*.png"))[0]).convert("RGB"))[:20, :24]
    for codec, bpp in (("x264", 0.2), ("vvenc", 1.5)):
        expected = run_on_picture(generator, picture, codec, bpp, scale=4, multiple=generator.size_multiple)
        assert np.array_equal(model(picture, codec, bpp), expected)
    code = main(
        [
            "eval",
            "--data",
            str(sorted(photo_dir.glob("*.png"))[1]),
            "--out",
            str(tmp_path / "results"),
            "--model",
            f"mine={f'checkpoint:{checkpoint}'}",
            "--codecs",
            "x264",
            "--qps",
            "32,42",
            "--size",
            "64",
            "--limit",
            "1",
            "--metrics",
            "psnr_y",
            "--no-progress",
        ]
    )
    assert code == 0 and "| mine | 42 |" in (tmp_path / "results/summary.md").read_text()


def test_a_record_that_does_not_fit_the_weights_is_refused_in_one_line(photo_dir, tmp_path) -> None:
    _, checkpoint = _trained(BACKBONES[0], photo_dir, tmp_path)
    config = json.loads((checkpoint / "config.json").read_text())
    config["generator"]["backbone_kwargs"] = {"width": 6}
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError) as refused:
        load_sr_checkpoint(str(checkpoint))
    message = str(refused.value)
    assert "\n" not in message and str(checkpoint / "config.json") in message
    assert "first mismatching key backbone.head.weight (shape (8, 3, 3, 3) in the file, (6, 3, 3, 3)" in message


def test_a_spandrel_record_must_match_the_detected_network(photo_dir, tmp_path) -> None:
    _, checkpoint = _trained("ESRGAN", photo_dir, tmp_path)
    config = json.loads((checkpoint / "config.json").read_text())
    config["generator"]["spandrel"]["hyperparameters"]["num_filters"] = 16
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"first mismatching key backbone.model.0.weight \(shape \(8, 3, 3, 3\) in the file, \(16, 3"
    ):
        load_sr_checkpoint(str(checkpoint))
