"""The simulator studies from the command line, on a tiny real dataset: Table 3 switches and Table 6
simulators train from shards, record themselves, and plug into stage 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.dataset_builder import build_dataset
from vrpsr_cli.main import main


@pytest.fixture(scope="module")
def dataset(photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studies") / "dataset"
    build_dataset(root, sorted(photo_dir.glob("*.png"))[:4], shard_size=2, size=64, qps=(26, 36, 46), codecs=("x264",))
    return root


def _common(dataset: Path) -> list[str]:
    return [
        "--data",
        str(dataset),
        "--batch-size",
        "2",
        "--crop",
        "64",
        "--workers",
        "0",
        "--target",
        "mse",
        "--qp-range",
        "36-46",
        "--steps",
        "2",
    ]


def test_qp_input_vector_only_simulator_from_shards(dataset: Path, tmp_path: Path) -> None:
    output = tmp_path / "qp"
    assert (
        main(
            [
                "train",
                "simulator",
                *_common(dataset),
                "--output-dir",
                str(output),
                "--small-channels",
                "8,16",
                "--condition-input",
                "qp",
                "--no-prompt",
                "--rate-loss-weight",
                "0.5",
            ]
        )
        == 0
    )
    with open(output / "losses.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(float(row["rate_error"]) >= 0 for row in rows)
    recorded = json.loads((output / "checkpoints/step-0000002/config.json").read_text())
    assert recorded["architecture"]["condition_input"] == "qp" and recorded["architecture"]["prompt"] is False
    assert recorded["rate_loss_weight"] == 0.5
    code = main(
        [
            "train",
            "sr",
            *_common(dataset),
            "--output-dir",
            str(tmp_path / "sr"),
            "--simulator",
            str(output / "checkpoints/step-0000002"),
            "--num-feat",
            "8",
            "--num-block",
            "1",
            "--num-grow-ch",
            "4",
        ]
    )
    assert code == 2  # a QP-conditioned simulator cannot take stage 2's bpp condition


def test_hyperprior_and_jpeg_proxy_plug_into_stage_two(dataset: Path, tmp_path: Path) -> None:
    output = tmp_path / "hyperprior"
    assert (
        main(
            [
                "train",
                "simulator",
                *_common(dataset),
                "--output-dir",
                str(output),
                "--backbone",
                "hyperprior",
                "--hyperprior-channels",
                "8,12",
            ]
        )
        == 0
    )
    recorded = json.loads((output / "checkpoints/step-0000002/config.json").read_text())["architecture"]
    assert recorded["backbone"] == "hyperprior" and recorded["hyperprior_channels"] == [8, 12]
    generator = ["--num-feat", "8", "--num-block", "1", "--num-grow-ch", "4", "--discriminator", "patch"]
    for simulator in (str(output / "checkpoints/step-0000002"), "jpeg-proxy"):
        run = tmp_path / f"sr-{Path(simulator).name}"
        assert (
            main(["train", "sr", *_common(dataset), "--output-dir", str(run), "--simulator", simulator, *generator])
            == 0
        )
        config = json.loads((run / "checkpoints/step-0000002/config.json").read_text())
        assert config["simulator"]["architecture"]["backbone"] in ("hyperprior", "jpeg-proxy")
