"""A dataset whose QP grid has no QP-10 partner: the trainers say which grid works and how to train anyway."""

from __future__ import annotations

import pytest

from tests.dataset_builder import build_dataset
from vrpsr_cli.main import main


@pytest.fixture(scope="module")
def unpaired(jpeg_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("unpaired") / "dataset"
    images = sorted(jpeg_dir.glob("*.JPEG"))[:2]
    build_dataset(root, images, shard_size=2, size=64, qps=(22, 26, 30), codecs=("x264",))  # step 4: no q-10
    return root


def sr_command(root, output_dir, *flags: str) -> list[str]:
    return [
        "train",
        "sr",
        "--data",
        str(root),
        "--output-dir",
        str(output_dir),
        "--no-simulator",
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--workers",
        "0",
        "--target",
        "mse",
        "--steps",
        "1",
        "--num-feat",
        "8",
        "--num-block",
        "1",
        "--num-grow-ch",
        "4",
        "--discriminator",
        "patch",
        *flags,
    ]


def test_unpaired_grid_error_names_a_working_grid_and_supervision_clean(unpaired, tmp_path, capsys) -> None:
    assert main(sr_command(unpaired, tmp_path / "refused", "--supervision", "real-codec")) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "has no QP in" in error, error
    assert "vrpsr generate --qps 20-50/2" in error and "--supervision clean" in error


def test_supervision_clean_trains_on_an_unpaired_grid(unpaired, tmp_path, capsys) -> None:
    assert main(sr_command(unpaired, tmp_path / "clean", "--supervision", "clean")) == 0
    assert (tmp_path / "clean/checkpoints/step-0000001/model.safetensors").is_file()
