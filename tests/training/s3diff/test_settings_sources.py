"""--init-from takes the imported model's recorded S3Diff settings (latent sampling included) unless
--s3diff-settings overrides them, and the run says which came from where."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tests.training.s3diff.test_presets import _args
from training.checkpoint_import.presets import official_vrpsr, s3diff_baseline
from training.models.s3diff.settings_sources import choose_settings
from training.trainers.simulator import SimulatorTrainConfig
from vrpsr_cli.train_command import _report, _stage_two_parts, train_config, with_s3diff_options


def _checkpoint(folder: Path, section: str, settings) -> Path:
    """A checkpoint folder whose config.json records `settings` as an import writes them."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({section: {"s3diff": dataclasses.asdict(settings)}}))
    return folder


def test_imported_vrpsr_settings_are_taken_and_named(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path / "vrpsr", "generator", official_vrpsr())
    chosen = choose_settings(str(checkpoint), None)
    assert chosen.record["latent"] == "sample" and chosen.record["condition_units"] == "official-kB"
    assert chosen.sources["latent"] == f"--init-from {checkpoint}"
    assert "degradation_input_scale" not in chosen.sources  # the run's input decides that one
    assert f"from --init-from {checkpoint}: " in chosen.describe() and "latent='sample'" in chosen.describe()


def test_s3diff_without_a_condition_gives_its_network_settings_only(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path / "s3diff", "generator", s3diff_baseline())
    chosen = choose_settings(str(checkpoint), None)
    assert chosen.record["latent"] == "sample"  # what the published S3Diff trained with
    assert chosen.record["modulation"] == "vrpsr" and chosen.record["guidance_scale"] == 1.0  # the run's own
    assert set(chosen.sources) == {
        "unet_lora_rank",
        "vae_lora_rank",
        "lora_alpha",
        "degradation_guided",
        "latent",
        "timestep",
    }


def test_s3diff_settings_override_what_init_from_gives(tmp_path: Path, capsys) -> None:
    checkpoint = _checkpoint(tmp_path / "s3diff", "architecture", official_vrpsr())
    (tmp_path / "mode.json").write_text(json.dumps({"latent": "mode"}))
    common = ["simulator", "--data", "x", "--output-dir", str(tmp_path), "--steps", "1", "--backbone", "s3diff"]
    args = _args(*common, "--init-from", str(checkpoint), "--s3diff-settings", str(tmp_path / "mode.json"))
    config = with_s3diff_options(SimulatorTrainConfig(train_config(args)), args)
    assert config.architecture.s3diff["latent"] == "mode"  # the flag wins
    assert config.architecture.s3diff["condition_units"] == "official-kB"  # the rest from the checkpoint
    assert f"from --s3diff-settings {tmp_path / 'mode.json'}: latent='mode'" in args.settings_sources

    class Result:
        held_out: list = []
        main_process = True

        def summary(self) -> str:
            return "trained"

    _report(Result(), args)
    assert capsys.readouterr().out.splitlines() == ["trained", args.settings_sources]
    plain = _args(*common)
    assert with_s3diff_options(SimulatorTrainConfig(train_config(plain)), plain).architecture.s3diff is None
    assert plain.settings_sources == "S3Diff settings: all default"


def test_sr_init_from_an_imported_model_samples_the_latent(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path / "s3diff", "generator", s3diff_baseline())
    argv = f"sr --data x --output-dir {tmp_path} --steps 1 --backbone s3diff --init-from {checkpoint} --no-simulator"
    args = _args(*argv.split())
    _, generator, _ = _stage_two_parts(args)
    assert generator.s3diff["latent"] == "sample" and generator.init_weights == str(checkpoint)
    assert generator.s3diff["degradation_input_scale"] == 4  # an SR generator's default (the LQ at 1/4)
