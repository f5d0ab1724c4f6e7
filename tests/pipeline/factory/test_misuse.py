"""`vrpsr generate` used carelessly: bad arguments refused before any task, its own local Ray whatever
runs on the machine (RAY_ADDRESS included)."""

from __future__ import annotations

import os
import subprocess

import pytest
import ray

from tests.pipeline.factory_helpers import REPO, generate_command, write_list
from vrpsr_cli.main import main

SMALL = ("--codecs", "x264", "--qps", "40", "--size", "64", "--shard-size", "4", "--workers", "1")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("--codecs", "x264", "--qps", "40,60"), "--qps 60 outside x264's range 0..51"),
        (("--codecs", "vvenc", "--qps", "64"), "--qps 64 outside vvenc's range 0..63"),
        (("--size", "0"), "--size 0 outside 32..8192"),
        (("--size", "130"), "--size 130 is not divisible by --scale 4"),
        (("--qps", "30,32,30"), "--qps repeats 30"),
        (("--qps", "50-20"), "give at least one QP"),
        (("--codecs", "vvenc", "--crfs", "23"), "vvenc takes constant QP only"),
        (("--codecs", "x264", "--preset", "x264=fastest"), "--preset x264=fastest: known presets: "),
        (("--threads", "0"), "--threads must be >= 1"),
        (("--seed", "-1"), "--seed must be >= 0"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_any_task(arguments, named, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["generate", "sample", str(out), "--no-progress", *arguments])
    error = capsys.readouterr().err
    assert code == 2, error
    assert named in error and len(error.strip().splitlines()) == 1
    assert not out.exists() and not ray.is_initialized()


@pytest.mark.slow
def test_without_address_generate_starts_its_own_ray_even_when_ray_address_is_set(jpeg_dir, tmp_path) -> None:
    """With address=None Ray joins RAY_ADDRESS (or the cluster recorded under /tmp/ray): a busy machine's
    cluster, or none at all as here; without --address the factory must always start a fresh local Ray."""
    inputs = write_list(tmp_path, sorted(jpeg_dir.glob("*.JPEG"))[:2])
    completed = subprocess.run(
        [*generate_command(str(inputs), str(tmp_path / "out")), *SMALL],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RAY_ADDRESS": "127.0.0.1:9"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "images done: 2" in completed.stdout
