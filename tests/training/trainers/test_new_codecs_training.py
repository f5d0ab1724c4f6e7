"""`train simulator` and `train sr` on a dataset of x264, jpeg and webp: the models' one-hot spans the
dataset's codecs (x264, x265, vvenc at 0-2), and a simulator of other codecs is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dataset_builder import build_dataset
from vrpsr_cli.main import main

COMMON = ["--batch-size", "2", "--crop", "32", "--workers", "0", "--target", "mse", "--steps", "1"]
TINY_SR = ["--num-feat", "8", "--num-block", "1", "--num-grow-ch", "4", "--discriminator", "patch"]


@pytest.fixture(scope="module")
def datasets(jpeg_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    images = sorted(jpeg_dir.glob("*.JPEG"))[:4]
    folder = tmp_path_factory.mktemp("codecs")
    build_dataset(folder / "mixed", images, shard_size=2, size=64, qps=(30, 40), codecs=("x264", "jpeg", "webp"))
    build_dataset(folder / "paper", images, shard_size=2, size=64, qps=(30, 40), codecs=("x264",))
    return folder / "mixed", folder / "paper"


def test_simulator_and_sr_train_on_the_new_codecs_and_refuse_other_data(datasets, tmp_path, capsys):
    mixed, paper = datasets
    sim = tmp_path / "sim"
    assert (
        main(
            ["train", "simulator", "--data", str(mixed), *COMMON, "--output-dir", str(sim), "--small-channels", "8,16"]
        )
        == 0
    )
    checkpoint = sim / "checkpoints/step-0000001"
    layout = ["x264", "x265", "vvenc", "jpeg", "webp"]
    assert json.loads((checkpoint / "config.json").read_text())["architecture"]["codecs"] == layout
    sr = ["train", "sr", *COMMON, *TINY_SR, "--simulator", str(checkpoint)]
    assert main([*sr, "--data", str(mixed), "--output-dir", str(tmp_path / "sr")]) == 0
    recorded = json.loads((tmp_path / "sr/checkpoints/step-0000001/config.json").read_text())
    assert recorded["generator"]["codecs"] == layout
    capsys.readouterr()
    assert main([*sr, "--data", str(paper), "--output-dir", str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err.strip()
    assert "the simulator was trained on x264, x265, vvenc, jpeg, webp" in error and "\n" not in error


def test_a_model_conditions_on_its_own_codecs_and_refuses_others():
    import numpy as np

    from training.condition import CODEC_NAMES
    from training.inference import SuperResolver, model_codecs
    from training.models.rrdbnet import RRDBNet

    picture = np.full((16, 16, 3), 128, np.uint8)
    layout = (*CODEC_NAMES, "jpeg", "webp")
    grown = SuperResolver(RRDBNet(4, 8, 1, 4, codec_names=layout))
    assert model_codecs(grown.generator) == layout and grown(picture, "webp", 0.3).shape == (64, 64, 3)
    paper = SuperResolver(RRDBNet(4, 8, 1, 4))
    assert paper(picture, "x265", 0.3).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="trained on x264, x265, vvenc, not jpeg"):
        paper(picture, "jpeg", 0.3)
