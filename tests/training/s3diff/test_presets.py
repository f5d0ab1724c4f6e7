"""Paper presets load through `vrpsr train --config`; condition units and prompt templates are recorded options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from training.losses import LossWeights
from training.presets import PAPER_PRESETS
from vrpsr_cli.train_command import add_parser, data_config, train_config


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
