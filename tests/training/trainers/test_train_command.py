"""`vrpsr train simulator` end to end on a tiny real dataset read by the streaming loader."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dataset_builder import build_dataset
from vrpsr_cli.main import main


@pytest.fixture(scope="module")
def dataset(jpeg_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("train-data") / "dataset"
    images = sorted(jpeg_dir.glob("*.JPEG"))[10:14]
    build_dataset(root, images, shard_size=2, size=64, qps=(26, 30, 36, 40), codecs=("x264", "vvenc"))
    return root


def test_train_simulator_from_shards_checkpoints_and_resumes(dataset, tmp_path, capsys):
    output = tmp_path / "run"
    arguments = [
        "train",
        "simulator",
        "--data",
        str(dataset),
        "--held-out",
        str(dataset),
        "--output-dir",
        str(output),
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--workers",
        "0",
        "--target",
        "mse",
        "--qp-range",
        "30-40",
    ]
    assert main([*arguments, "--steps", "2"]) == 0
    assert "trained to step 2" in capsys.readouterr().out
    assert main([*arguments, "--steps", "3", "--resume", "latest"]) == 0
    assert "trained to step 3" in capsys.readouterr().out
    with open(output / "losses.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == [1, 2, 3]
    assert any(path.suffix == ".safetensors" for path in output.rglob("*"))


def test_perceptual_target_without_lpips_weights_names_the_file(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    code = main(
        [
            "train",
            "simulator",
            "--data",
            str(dataset),
            "--output-dir",
            str(tmp_path / "run"),
            "--steps",
            "1",
            "--batch-size",
            "2",
            "--crop",
            "32",
            "--workers",
            "0",
            "--qp-range",
            "30-40",
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "alexnet" in error.lower() and "empty-hub" in error and "--target mse" in error


def test_steps_are_required(dataset, tmp_path, capsys):
    assert main(["train", "simulator", "--data", str(dataset), "--output-dir", str(tmp_path)]) == 2
    assert "--steps" in capsys.readouterr().err


def test_checkpoints_chain_into_sr_and_eval_from_their_recorded_architecture(dataset, tmp_path, capsys):
    """A stage-1 run with non-default widths feeds `train sr` and `eval` with no architecture flags:
    both rebuild the simulator from the checkpoint's config.json (default widths would not load)."""
    common = [
        "--data",
        str(dataset),
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--workers",
        "0",
        "--target",
        "mse",
        "--qp-range",
        "30-40",
        "--steps",
        "1",
    ]
    assert main(["train", "simulator", *common, "--output-dir", str(tmp_path / "sim"), "--small-channels", "8,16"]) == 0
    simulator = tmp_path / "sim/checkpoints/step-0000001"
    assert (
        main(
            [
                "train",
                "sr",
                *common,
                "--output-dir",
                str(tmp_path / "sr"),
                "--simulator",
                str(simulator),
                "--num-feat",
                "8",
                "--num-block",
                "1",
                "--num-grow-ch",
                "4",
                "--discriminator",
                "patch",
            ]
        )
        == 0
    )
    capsys.readouterr()
    results, model = tmp_path / "results", f"checkpoint:{tmp_path / 'sr/checkpoints/step-0000001'}"
    code = main(
        [
            "eval",
            "--data",
            str(dataset.parent / "dataset-inputs.txt"),
            "--out",
            str(results),
            "--model",
            f"sr-through-sim={model}",
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
            "--simulator",
            f"checkpoint:{simulator}",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = (results / "summary.md").read_text()
    assert "| sr-through-sim | 42 |" in summary and "**BDBR sr-through-sim vs identity**" in summary
    assert list((results / "crops").glob("*.png"))
    code = main(
        [
            "eval",
            "--data",
            str(dataset.parent / "dataset-inputs.txt"),
            "--out",
            str(tmp_path / "r2"),
            "--model",
            "bicubic",
            "--codecs",
            "x264",
            "--qps",
            "32",
            "--size",
            "64",
            "--limit",
            "1",
            "--post",
            model,
        ]
    )
    assert code == 2 and "no 'post' section (not a post-processing checkpoint)" in capsys.readouterr().err


def test_eval_checkpoint_without_a_folder_names_config_json(tmp_path, capsys):
    assert (
        main(["eval", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--model", f"checkpoint:{tmp_path}"]) == 2
    )
    assert "config.json" in capsys.readouterr().err


def test_two_processes_under_torchrun(dataset, tmp_path):
    """The multi-GPU path on CPU (torchrun, gloo): DDP wrapping, no_sync while accumulating, rank-sharded loading;
    rank 0 alone writes the logs and the checkpoint."""
    config = tmp_path / "train.json"
    config.write_text(json.dumps({"gradient_accumulation_steps": 2, "progress_bar": False}))
    launcher = Path(sys.executable).parent / "torchrun"
    result = subprocess.run(
        [
            str(launcher),
            "--nproc_per_node",
            "2",
            "-m",
            "vrpsr_cli.main",
            "train",
            "simulator",
            "--data",
            str(dataset),
            "--output-dir",
            str(tmp_path / "run"),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--crop",
            "32",
            "--workers",
            "0",
            "--target",
            "mse",
            "--qp-range",
            "30-40",
            "--small-channels",
            "8,16",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[3],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("over 2 updates on 2 process(es)") == 1, result.stdout  # printed by rank 0 alone
    assert result.stdout.count("trained to step 2; loss ") == 1 and "(mean over 2 ranks)" in result.stdout
    assert result.stdout.count("checkpoint ") == 1 and "checkpoint None" not in result.stdout
    with open(tmp_path / "run/losses.csv") as handle:
        assert [row["step"] for row in csv.DictReader(handle)] == ["1", "2"]
    assert (tmp_path / "run/checkpoints/step-0000002/model.safetensors").is_file()


def test_loss_flags_reach_the_train_config(tmp_path) -> None:
    import argparse

    from vrpsr_cli.train_command import add_parser, train_config

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "train",
            "simulator",
            "--data",
            "x",
            "--output-dir",
            str(tmp_path),
            "--steps",
            "1",
            "--discriminator",
            "vision-aided-dino",
            "--lpips-net",
            "vgg",
        ]
    )
    config = train_config(args)
    assert (config.discriminator, config.lpips_net) == ("vision-aided-dino", "vgg")
    args = parser.parse_args(
        ["train", "sr", "--data", "x", "--output-dir", str(tmp_path), "--steps", "1", "--no-simulator"]
    )
    assert train_config(args, discriminator="unet").discriminator == "unet"  # the SR default when no flag is given
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "sr", "--data", "x", "--output-dir", str(tmp_path), "--discriminator", "stylegan"])
