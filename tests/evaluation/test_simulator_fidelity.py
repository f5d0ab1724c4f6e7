"""vrpsr eval simulator: simulator vs real codec per codec and bpp bucket (Table 3), r² (Table 4), files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from evaluation.metrics import PIXEL_METRICS, MetricSuite
from evaluation.models import Identity
from evaluation.r_squared import r_squared
from evaluation.simulator_fidelity import (
    FidelityConfig,
    bpp_bucket,
    held_out_pictures,
    simulator_fidelity,
)
from tests.dataset_builder import build_dataset
from tests.evaluation.plugins import fake_simulator
from tests.training.simulator_batches import qp_batches
from training.loop import TrainConfig
from training.models.build import SimulatorArchitecture
from training.trainers.simulator import SimulatorTrainConfig, train_simulator
from vrpsr_cli.main import main


def colour_histogram(picture: np.ndarray) -> np.ndarray:
    """A stand-in FID feature (FID's Inception weights are not on a bare machine): 8-bin channel histograms."""
    return np.concatenate(
        [np.histogram(picture[..., c], bins=8, range=(0, 256))[0] / picture[..., c].size for c in range(3)]
    )


def test_r_squared() -> None:
    assert math.isclose(r_squared([1, 2, 3, 4], [3, 5, 7, 9]), 1.0)
    assert math.isclose(r_squared([1, 2, 3, 4], [4, 3, 2, 1]), 1.0)  # anti-correlated still tracks
    assert r_squared([1, 2, 3, 4], [1, 3, 2, 1]) < 0.5
    assert math.isnan(r_squared([1, 2], [1, 2])) and math.isnan(r_squared([1, 2, 3], [5, 5, 5]))
    assert math.isclose(r_squared([1, 2, 3, float("inf")], [2, 4, 6, 1]), 1.0)  # infinite pairs left out


def test_buckets() -> None:
    edges = (0.1, 0.2, 0.4)
    assert [bpp_bucket(b, edges) for b in (0.05, 0.1, 0.3, 0.4, 2.0)] == [
        "<0.1",
        "0.1-0.2",
        "0.2-0.4",
        ">=0.4",
        ">=0.4",
    ]


def test_fidelity_rows_summary_fid_and_r_squared(photo_dir: Path) -> None:
    config = FidelityConfig(
        data=str(photo_dir),
        codecs=("x264", "vvenc"),
        qps=(27, 37, 47),
        size=64,
        limit=3,
        bpp_edges=(0.3, 1.0),
        crop_images=1,
        crop_size=32,
    )
    suite = MetricSuite(dict(PIXEL_METRICS), fid_features=colour_histogram)
    result = simulator_fidelity(config, {"identity": Identity(), "blur": fake_simulator}, suite)
    assert len(result.rows) == 3 * 2 * 3 * 2
    identity = [r for r in result.rows if r["simulator"] == "identity"]
    assert all(r["psnr_rgb"] == r["real_psnr_rgb"] for r in identity)  # identity vs real = real vs clean
    assert {s["simulator"] for s in result.summary} == {"identity", "blur"}
    assert sum(s["n"] for s in result.summary if s["simulator"] == "blur") == 18
    assert any(math.isfinite(s.get("fid", math.nan)) for s in result.summary)
    blur = {r["metric"]: r for r in result.r2 if r["simulator"] == "blur"}
    assert blur["psnr_rgb"]["conditions"] == 6 and 0 <= blur["psnr_rgb"]["r2_conditions"] <= 1
    assert len(result.crops) == 2 and set(result.crops[0]["pictures"]) == {"clean X", "real codec", "identity", "blur"}


def test_dataset_root_gives_its_clean_pictures(photo_dir: Path, tmp_path: Path) -> None:
    images = sorted(photo_dir.glob("*.png"))[:3]
    build_dataset(tmp_path / "dataset", images, shard_size=2, size=64, qps=(32,), codecs=("x264",))
    pictures = held_out_pictures(FidelityConfig(data=str(tmp_path / "dataset"), size=48, limit=2))
    assert len(pictures) == 2 and all(p.shape == (48, 48, 3) for _, p in pictures)


def test_cli_measures_a_trained_simulator_with_the_baselines(
    photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    architecture = SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1)
    train = TrainConfig(str(tmp_path / "run"), max_steps=2, target="mse", progress_bar=False)
    checkpoint = train_simulator(SimulatorTrainConfig(train, architecture), qp_batches(photo_dir)).checkpoint
    out = tmp_path / "fidelity"
    code = main(
        [
            "eval",
            "simulator",
            "--simulator",
            f"small={checkpoint}",
            "--data",
            str(photo_dir),
            "--out",
            str(out),
            "--codecs",
            "x264,x265",
            "--qps",
            "32,42",
            "--size",
            "64",
            "--limit",
            "2",
            "--metrics",
            "psnr_rgb,ssim_rgb",
            "--crop-images",
            "1",
        ]
    )
    assert code == 0
    report = (out / "report.md").read_text()
    assert "Table 3 layout" in report and "Table 4 layout" in report
    for simulator in ("small", "identity", "jpeg-proxy"):
        assert f"| {simulator} | x264 |" in report
    with (out / "r2.csv").open() as handle:
        r2 = {(row["simulator"], row["metric"]): row for row in csv.DictReader(handle)}
    assert 0 <= float(r2[("jpeg-proxy", "psnr_rgb")]["r2_conditions"]) <= 1
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "x264_psnr_rgb.png",
        "x264_ssim_rgb.png",
        "x265_psnr_rgb.png",
        "x265_ssim_rgb.png",
    ]
    assert len(list((out / "crops").iterdir())) == 2
    assert "results in" in capsys.readouterr().out
