"""`vrpsr train sr --backbone py:... | spandrel:...` on a tiny real dataset; resume needs no network flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dataset_builder import build_dataset
from tests.training.backbones.spandrel_files import spandrel_file
from vrpsr_cli.main import main


@pytest.fixture(scope="module")
def runs(jpeg_dir, tmp_path_factory) -> dict[str, Path]:
    """A tiny dataset and a 1-step small simulator trained on it."""
    folder = tmp_path_factory.mktemp("backbone-cli")
    images = sorted(jpeg_dir.glob("*.JPEG"))[10:12]
    build_dataset(folder / "dataset", images, shard_size=2, size=64, qps=(26, 36), codecs=("x264",))
    common = _common(folder / "dataset")
    assert main(["train", "simulator", *common, "--output-dir", str(folder / "sim"), "--small-channels", "8,16"]) == 0
    return {"folder": folder, "data": folder / "dataset", "simulator": folder / "sim/checkpoints/step-0000001"}


def _common(data: Path, steps: int = 1) -> list[str]:
    return [
        *("--data", str(data), "--batch-size", "2", "--crop", "32", "--workers", "0"),
        *("--target", "mse", "--qp-range", "30-36", "--steps", str(steps), "--discriminator", "patch"),
    ]


def test_spandrel_file_trains_and_resumes_with_no_network_flags(runs, tmp_path, capsys) -> None:
    pth = spandrel_file("Compact", tmp_path)
    output = tmp_path / "sr"
    sr = ["train", "sr", "--output-dir", str(output), "--simulator", str(runs["simulator"])]
    assert main([*sr, *_common(runs["data"], steps=2), "--backbone", f"spandrel:{pth}", "--condition", "film"]) == 0
    record = json.loads((output / "checkpoints/step-0000002/config.json").read_text())["generator"]
    assert record["backbone"] == f"spandrel:{pth}" and record["condition"] == "film:Conv2d"
    assert record["spandrel"]["architecture"] == "Compact" and record["scale"] == 4
    assert main([*sr, *_common(runs["data"], steps=3), "--resume", "latest"]) == 0
    assert "trained to step 3" in capsys.readouterr().out
    resumed = json.loads((output / "checkpoints/step-0000003/config.json").read_text())["generator"]
    assert resumed == record
    post = ["train", "post", *_common(runs["data"]), "--output-dir", str(tmp_path / "post"), "--mode", "sr-then-post"]
    sr_checkpoint = str(output / "checkpoints/step-0000003")
    post += ["--simulator", str(runs["simulator"]), "--init-weights", sr_checkpoint, "--post-channels", "8,16"]
    assert main(post) == 0  # the SR network comes from the SR run's record: no network flags
    chained = json.loads((tmp_path / "post/checkpoints/step-0000001/config.json").read_text())["generator"]
    assert chained == {**record, "init_weights": sr_checkpoint}


def test_python_network_with_kwargs_trains_from_the_cli(runs, tmp_path) -> None:
    output = tmp_path / "sr"
    arguments = ["train", "sr", "--output-dir", str(output), "--simulator", str(runs["simulator"])]
    backbone = [
        "--backbone",
        "py:tests.training.backbones.networks:PictureOnlyNet",
        "--backbone-kwargs",
        '{"width": 4}',
    ]
    assert main([*arguments, *_common(runs["data"]), *backbone, "--condition", "bias:head"]) == 0
    record = json.loads((output / "checkpoints/step-0000001/config.json").read_text())["generator"]
    assert record["backbone_kwargs"] == {"width": 4} and record["condition"] == "bias:head"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--backbone", "py:no_such_module:Net"], "backbone 'py:no_such_module:Net' cannot be imported"),
        (["--backbone", "py:tests.training.backbones.networks:PictureOnlyNet", "--scale", "1"], "is a x4 network"),
        (["--backbone-kwargs", '{"width": 4}'], "are for py: and spandrel: backbones, not rrdbnet"),
    ],
)
def test_bad_network_flags_end_in_one_line(runs, tmp_path, capsys, flags, message) -> None:
    arguments = ["train", "sr", "--output-dir", str(tmp_path), "--simulator", str(runs["simulator"])]
    assert main([*arguments, *_common(runs["data"]), *flags]) != 0
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error and "Traceback" not in error
