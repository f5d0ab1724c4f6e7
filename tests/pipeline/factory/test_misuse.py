"""`vrpsr generate` used carelessly: bad arguments refused before any task, its own local Ray whatever
runs on the machine (RAY_ADDRESS included)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import ray

from tests.pipeline.factory_helpers import REPO, generate_command, write_list
from vrpsr_cli.main import main

SMALL = ("--codecs", "x264", "--qps", "40", "--size", "64", "--shard-size", "4", "--workers", "1")


def error_lines(stderr: str) -> list[str]:
    """stderr without warnings and retry notices: what must be one line is the error itself."""
    return [
        line for line in stderr.strip().splitlines() if ": warning: " not in line and not line.startswith("retrying: ")
    ]


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
        (("--max-input-mb", "0"), "--max-input-mb must be > 0"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_any_task(arguments, named, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["generate", "sample", str(out), "--no-progress", *arguments])
    error = capsys.readouterr().err
    assert code == 2, error
    assert named in error and len(error_lines(error)) == 1
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


@pytest.mark.slow
def test_a_second_run_with_another_grid_into_the_same_out_is_refused_while_the_first_writes(jpeg_dir, tmp_path) -> None:
    """Issue 23: `--qps 32,42 & --qps 22,27 & wait` both ended rc 0 and the first run's grid was lost."""
    inputs = write_list(tmp_path, sorted(jpeg_dir.glob("*.JPEG"))[:16])  # long enough to be still running
    out = tmp_path / "out"
    common = ("--codecs", "x264,x265", "--size", "128", "--shard-size", "2", "--workers", "1")
    first = subprocess.Popen(
        [*generate_command(str(inputs), str(out)), *common, "--qps", "32,42"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "dataset.json").exists():  # the first run holds OUT and has planned its grid
            assert time.monotonic() < deadline and first.poll() is None, "the first run never planned"
            time.sleep(0.05)
        second = subprocess.run(
            [*generate_command(str(inputs), str(out)), *common, "--qps", "22,27"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        first_out, first_err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, first_err[-3000:]
    assert second.returncode == 2 and "another config" in second.stderr
    assert len(error_lines(second.stderr)) == 1 and "Traceback" not in second.stderr
    info = json.loads((out / "dataset.json").read_text())
    assert info["groups"]["x264"]["qps"] == [32, 42]
    assert len(list((out / "_done").glob("x265-*.json"))) == 8
