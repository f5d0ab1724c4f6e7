"""Paper presets load through `vrpsr train --config`; condition units and prompt templates are recorded options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from training.condition import condition_value, templated_prompts
from training.losses import LossWeights
from training.models.s3diff.settings import OFFICIAL_CODEC_NAMES, OFFICIAL_PROMPT, S3DiffSettings
from training.presets import PAPER_PRESETS, accumulation_for
from training.trainers.simulator import SimulatorTrainConfig
from vrpsr_cli.train_command import _stage_two_parts, add_parser, data_config, train_config, with_s3diff_options


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


# The VRPSR supplement (A.1), stage by stage: updates, learning rate; every stage: global batch 64, 512 x 512
# crops, warm-up + cosine, S3Diff's loss and step structure. The pre-training stage names no step count.
SUPPLEMENT = {
    "simulator_s3diff": (60000, 2e-5),
    "sr_s3diff": (20000, 2e-5),
    "sr_realesrgan": (40000, 2e-5),
    "realesrgan_pretrain": (None, 1e-4),
}
S3DIFF_RECIPE = {
    "lpips_net": "vgg",
    "discriminator": "vision-aided-dino",
    "gan_loss": "sigmoid-0.8",
    "discriminator_loss_weight": 0.5,
    "gan_step": "separate",
    "loss_weights": LossWeights(mse=2.0, lpips=5.0, gan=0.5),
    "lr_scheduler": "cosine",
    "max_grad_norm": 1.0,
}


def test_every_preset_is_in_the_supplement_table() -> None:
    assert sorted(path.stem for path in PAPER_PRESETS.glob("*.json")) == sorted(SUPPLEMENT)


@pytest.mark.parametrize("name", sorted(SUPPLEMENT))
def test_paper_presets_say_what_the_supplement_says(tmp_path: Path, name: str) -> None:
    steps, learning_rate = SUPPLEMENT[name]
    preset = PAPER_PRESETS / f"{name}.json"
    trainer = "simulator" if name.startswith("simulator") else "sr"
    argv = [trainer, "--data", "x", "--output-dir", str(tmp_path), "--config", str(preset), "--batch-size", "8"]
    if steps is None:
        with pytest.raises(ValueError, match="give --steps"):
            train_config(_args(*argv))
        argv += ["--steps", "5"]
    args = _args(*argv)
    config = train_config(args)
    assert config.max_steps == (steps or 5) and config.learning_rate == learning_rate and config.warmup_steps > 0
    assert config.gradient_accumulation_steps * 8 == 64  # one process here
    assert {name: getattr(config, name) for name in S3DIFF_RECIPE} == S3DIFF_RECIPE
    assert data_config(args).crop == 512 and data_config(_args(*argv, "--crop", "256")).crop == 256
    assert "global_batch_size" in json.loads(preset.read_text())


def test_global_batch_is_reached_for_any_world_size() -> None:
    assert [accumulation_for(64, 4, world) for world in (1, 2, 4, 8, 16)] == [16, 8, 4, 2, 1]
    assert accumulation_for(64, 8, 2) == 4
    with pytest.raises(ValueError, match="not a multiple of --batch-size 3"):
        accumulation_for(64, 3, 1)


def test_units_convert_the_true_rate_to_the_official_kilobytes() -> None:
    bpp = torch.tensor([0.3, 1.0])
    assert torch.equal(condition_value(bpp, "bpp", 512, 512), bpp)
    kilobytes = condition_value(bpp, "official-kB", 512, 512)  # bytes / 1000 = bpp * H * W / 8 / 1000
    torch.testing.assert_close(kilobytes, torch.tensor([9.8304, 32.768]))
    torch.testing.assert_close(condition_value(bpp, "official-kB", 256, 384), bpp * 256 * 384 / 8000)
    with pytest.raises(ValueError, match="condition units 'kB'"):
        condition_value(bpp, "kB", 8, 8)


def test_prompt_template_and_codec_names_are_recorded_options() -> None:
    onehot = torch.eye(3)
    assert templated_prompts(OFFICIAL_PROMPT, OFFICIAL_CODEC_NAMES, onehot, torch.tensor([0.3, 9.8304, 1.0])) == [
        "A libx264 0.3000 bpp compressed image.",
        "A libx265 9.8304 bpp compressed image.",
        "A libx266 1.0000 bpp compressed image.",
    ]
    braces = "A {{{codec}}} {{{value:.2f}}} bpp compressed image."
    assert templated_prompts(braces, ("libx264", "libx265", "libvvenc"), onehot[2:], torch.tensor([0.256])) == [
        "A {libvvenc} {0.26} bpp compressed image."
    ]
    record = json.loads(json.dumps(S3DiffSettings(condition_units="official-kB").__dict__))  # as config.json keeps it
    assert S3DiffSettings.from_record(record) == S3DiffSettings(condition_units="official-kB")
    with pytest.raises(ValueError, match="unknown S3Diff settings"):
        S3DiffSettings.from_record({"lora_rank": 4})
    with pytest.raises(ValueError, match="modulation"):
        S3DiffSettings(modulation="adain")
    with pytest.raises(ValueError, match="needs a negative_prompt"):
        S3DiffSettings(guidance_scale=1.07)
    with pytest.raises(ValueError, match="guidance_scale must be > 0"):
        S3DiffSettings(guidance_scale=0.0, negative_prompt="blur")


def test_s3diff_settings_flag_reaches_the_recorded_architecture(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"condition_units": "official-kB", "latent": "sample"}))
    args = _args(
        "sr",
        "--data",
        "x",
        "--output-dir",
        str(tmp_path),
        "--steps",
        "1",
        "--backbone",
        "s3diff",
        "--s3diff-settings",
        str(tmp_path / "s.json"),
        "--init-from",
        "CK/s3diff",
        "--no-simulator",
    )
    _, generator, _ = _stage_two_parts(args)
    assert generator.s3diff["condition_units"] == "official-kB" and generator.init_weights == "CK/s3diff"
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architecture": {"s3diff": {"modulation": "film"}}}))
    args = _args(
        "simulator",
        "--data",
        "x",
        "--output-dir",
        str(tmp_path),
        "--steps",
        "1",
        "--backbone",
        "s3diff",
        "--s3diff-settings",
        str(folder),
        "--init-from",
        str(folder),
    )
    config = with_s3diff_options(SimulatorTrainConfig(train_config(args)), args)
    assert config.architecture.s3diff["modulation"] == "film" and config.init_from == str(folder)
    (tmp_path / "bad.json").write_text(json.dumps({"ranks": 3}))
    with pytest.raises(ValueError, match="unknown S3Diff settings"):
        with_s3diff_options(
            config,
            _args("simulator", "--data", "x", "--output-dir", "o", "--s3diff-settings", str(tmp_path / "bad.json")),
        )
