"""examples/custom_backbone.py runs as a script on a tiny dataset: trains its network, evaluates the checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dataset_builder import build_dataset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_backbone.py"


def test_custom_backbone_example_trains_and_evaluates_its_network(jpeg_dir, photo_dir, tmp_path) -> None:
    images = sorted(jpeg_dir.glob("*.JPEG"))[10:12]
    build_dataset(tmp_path / "dataset", images, shard_size=2, size=64, qps=(26, 36), codecs=("x264",))
    picture = sorted(photo_dir.glob("*.png"))[0]
    out = tmp_path / "out"
    arguments = ["--data", str(tmp_path / "dataset"), "--pictures", str(picture), "--out", str(out)]
    arguments += ["--steps", "2", "--crop", "32", "--qp-range", "30-36", "--size", "64"]
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), *arguments], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "$ vrpsr train sr" in done.stdout and "--backbone py:custom_backbone:TinySR" in done.stdout
    record = json.loads((out / "sr/checkpoints/step-0000002/config.json").read_text())["generator"]
    assert record["backbone"] == "py:custom_backbone:TinySR" and record["condition"] == "bias:Conv2d"
    summary = (out / "results/summary.md").read_text()
    assert "| tiny | 47 |" in summary and "**BDBR tiny vs bicubic**" in summary
