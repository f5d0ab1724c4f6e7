"""Training data across ranks and restarts: each rank its own keys, exact resume from the loader's state,
refused resumes that would change the data, and an object-store outage ridden out."""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import fsspec
import pytest
from safetensors.torch import load_file

from shards.loader import ConditionSpec, ShardLoader, open_dataset
from tests.dataset_builder import build_dataset
from tests.s3_server import start_seaweedfs
from vrpsr_cli.main import main

IMAGES = 8
REPOSITORY = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def dataset(jpeg_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 samples in 8 shards of one (x264 at QP 26 and 36): two ranks x two workers get two shards each."""
    root = tmp_path_factory.mktemp("rank-data") / "dataset"
    images = sorted(jpeg_dir.glob("*.JPEG"))[:IMAGES]
    build_dataset(root, images, shard_size=1, size=32, qps=(26, 36), codecs=("x264",))
    return root


def _train_arguments(dataset: Path | str, output: Path, steps: int, *extra: str) -> list[str]:
    return [
        "train",
        "simulator",
        "--data",
        str(dataset),
        "--output-dir",
        str(output),
        "--steps",
        str(steps),
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--workers",
        "2",
        "--target",
        "mse",
        "--qp-range",
        "30-40",
        "--small-channels",
        "8,16",
        "--log-samples",
        *extra,
    ]


def _sample_log(path: Path) -> list[tuple[int, int, list[str]]]:
    with path.open() as handle:
        return [(int(row["step"]), int(row["micro_step"]), row["keys"].split()) for row in csv.DictReader(handle)]


def _all_keys(dataset: Path) -> set[str]:
    loader = ShardLoader(
        open_dataset(str(dataset), condition=ConditionSpec(qp_range=(30, 40)), rank=0, world_size=1, shuffle_buffer=0),
        batch_size=4,
    )
    return {key for batch in loader for key in batch["key"]}


def _torchrun(data: str, output: Path, environment: dict | None = None) -> list[list[tuple[int, int, list[str]]]]:
    """4 updates under torchrun with 2 CPU processes, 2 loader workers each; each rank's sample log."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "torchrun"),
            "--nproc_per_node",
            "2",
            "-m",
            "vrpsr_cli.main",
            *_train_arguments(data, output, 4),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPOSITORY,
        env=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [_sample_log(output / "samples" / f"rank-{rank:05d}.csv") for rank in range(2)]


@pytest.fixture(scope="module")
def two_rank_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    output = tmp_path_factory.mktemp("two-ranks") / "run"
    return output, _torchrun(str(dataset), output)


def test_two_ranks_read_disjoint_keys_that_cover_each_epoch(dataset: Path, two_rank_run: tuple[Path, list]) -> None:
    """An epoch is 2 updates of one batch per worker; each epoch the ranks split the keys between them."""
    output, logs = two_rank_run
    everything = _all_keys(dataset)
    assert len(everything) == IMAGES
    for epoch_steps in ({1, 2}, {3, 4}):
        per_rank = [{key for step, _, keys in log if step in epoch_steps for key in keys} for log in logs]
        assert per_rank[0].isdisjoint(per_rank[1])
        assert per_rank[0] | per_rank[1] == everything
        assert all(len(keys) == IMAGES // 2 for keys in per_rank)
    recorded = json.loads((output / "checkpoints/step-0000004/config.json").read_text())["data"]
    assert recorded["world_size"] == 2 and recorded["batch_size"] == 2 and recorded["num_workers"] == 2
    states = json.loads((output / "checkpoints/step-0000004/data_state.json").read_text())["ranks"]
    assert [state["rank"] for state in states] == [0, 1]


def test_two_ranks_read_the_same_keys_from_s3(
    dataset: Path, two_rank_run: tuple[Path, list], s3_server, tmp_path: Path
) -> None:
    """The same run straight from SeaweedFS (credentials from the environment) sees what the local run saw."""
    fsspec.filesystem("s3", **s3_server.storage_options).put(
        str(dataset), f"{s3_server.bucket}/rank-data", recursive=True
    )
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    logs = _torchrun(f"s3://{s3_server.bucket}/rank-data", tmp_path / "run", environment)
    assert logs == two_rank_run[1]


def test_resume_continues_the_loader_exactly(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An interrupted run (stopped after update 5 of 7, one batch into its second epoch, 2 workers) resumed from its checkpoint sees the same
    keys in the same order as an uninterrupted run, with no replay, and ends with bit-identical weights."""
    whole, interrupted = tmp_path / "whole", tmp_path / "interrupted"
    assert main(_train_arguments(dataset, whole, 7, "--config", str(_no_bar(tmp_path)))) == 0
    assert (
        main(_train_arguments(dataset, interrupted, 7, "--stop-at-step", "5", "--config", str(_no_bar(tmp_path)))) == 0
    )
    assert "trained to step 5" in capsys.readouterr().out
    assert not (interrupted / "checkpoints/step-0000007").exists()
    assert (
        main(_train_arguments(dataset, interrupted, 7, "--resume", "latest", "--config", str(_no_bar(tmp_path)))) == 0
    )
    assert "trained to step 7" in capsys.readouterr().out
    expected = _sample_log(whole / "samples/rank-00000.csv")
    assert [step for step, _, _ in expected] == list(range(1, 8))
    assert _sample_log(interrupted / "samples/rank-00000.csv") == expected
    final = "checkpoints/step-0000007/model.safetensors"
    whole_weights, resumed_weights = load_file(str(whole / final)), load_file(str(interrupted / final))
    assert whole_weights.keys() == resumed_weights.keys()
    assert all(whole_weights[name].equal(resumed_weights[name]) for name in whole_weights)
    # the epoch boundary is inside the run (4 items per epoch, 2 per update): both runs crossed it alike
    assert len({key for _, _, keys in expected[:4] for key in keys}) == IMAGES


def _no_bar(tmp_path: Path) -> Path:
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps({"progress_bar": False, "checkpoint_every": 3}))
    return path


def test_resume_with_other_data_settings_is_refused(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    output = tmp_path / "run"
    assert main(_train_arguments(dataset, output, 1)) == 0
    capsys.readouterr()
    assert main(_train_arguments(dataset, output, 2, "--resume", "latest", "--batch-size", "1")) == 2
    assert "data.batch_size: 2 -> 1" in capsys.readouterr().err
    assert main(_train_arguments(dataset, output, 2, "--resume", "latest", "--qp-range", "32-40")) == 2
    assert "data.qp_range" in capsys.readouterr().err
    assert main(_train_arguments(dataset, output, 2, "--resume", "latest")) == 0


def test_epoch_from_s3_rides_out_an_outage(dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SeaweedFS stopped after 2 items and started again 10 s later: the epoch completes with every key
    exactly once, nothing skipped, and the wait is logged."""
    server = start_seaweedfs(tmp_path / "seaweedfs")
    try:
        fs = fsspec.filesystem("s3", **server.storage_options)
        fs.put(str(dataset), f"{server.bucket}/dataset", recursive=True)
        data = open_dataset(
            f"s3://{server.bucket}/dataset",
            condition=ConditionSpec(qp_range=(30, 40)),
            rank=0,
            world_size=1,
            storage_options=server.storage_options,
            shuffle_buffer=1,
            read_threads=1,
            retry_seconds=120,
        )
        keys, outage = [], None
        with caplog.at_level(logging.WARNING, logger="shards.storage"):
            for item in data:
                keys.append(item["key"])
                if len(keys) == 2:
                    server.stop()
                    outage = threading.Timer(10.0, server.restart)
                    outage.start()
                    stopped = time.monotonic()
            outage.join()
        assert time.monotonic() - stopped >= 10.0
        assert sorted(keys) == sorted(_all_keys(dataset)) and len(keys) == IMAGES
        assert data.skips.shards == 0 and data.skips.samples == 0
        assert any("retrying in" in record.getMessage() for record in caplog.records)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "flag, launch_config, expected", [((), "bf16", "bf16"), (("--mixed-precision", "no"), "bf16", "no")]
)
def test_mixed_precision_is_what_accelerate_resolves(
    dataset: Path, tmp_path: Path, flag: tuple, launch_config: str | None, expected: str
) -> None:
    """The flag wins over `accelerate launch --mixed_precision` (ACCELERATE_MIXED_PRECISION), which wins over "no"."""
    environment = (
        {**os.environ, "ACCELERATE_MIXED_PRECISION": launch_config}
        if launch_config
        else {name: value for name, value in os.environ.items() if name != "ACCELERATE_MIXED_PRECISION"}
    )
    result = subprocess.run(
        [sys.executable, "-m", "vrpsr_cli.main", *_train_arguments(dataset, tmp_path / "run", 1), *flag],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPOSITORY,
        env=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"mixed precision {expected};" in result.stdout
