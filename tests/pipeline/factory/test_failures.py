"""Version lock and failures as data, end to end on a real local Ray: a task whose packages differ from
what dataset.json records fails (after its retries) with the reason as a row of failures/tasks.parquet,
the exit code says so, `vrpsr shards stats|verify` show it, and a rerun with matching versions clears it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from pipeline.ray_tasks import TASK_RETRIES
from shards.layout import TASK_FAILURES_PATH, done_path, shard_path
from tests.pipeline.factory_helpers import REPO

pytestmark = pytest.mark.slow
ARGS = ("--size", "64", "--qps", "40", "--shard-size", "4", "--codecs", "x264", "--workers", "2", "--no-progress")


def _vrpsr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vrpsr_cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _set_recorded_numpy(out, version: str) -> str:
    info = json.loads((out / "dataset.json").read_text())
    previous = info["groups"]["x264"]["packages"]["numpy"]
    info["groups"]["x264"]["packages"]["numpy"] = version
    (out / "dataset.json").write_text(json.dumps(info))
    return previous


def test_version_mismatch_is_a_recorded_failure_until_a_matching_rerun(tmp_path):
    out = tmp_path / "out"
    first = _vrpsr("generate", "sample", str(out), *ARGS)
    assert first.returncode == 0, first.stderr[-3000:]
    assert not (out / TASK_FAILURES_PATH).exists()
    tar_before = hashlib.sha256((out / shard_path("x264", 1)).read_bytes()).hexdigest()

    (out / done_path("x264", 1)).unlink()
    installed = _set_recorded_numpy(out, "0.0.1")
    failed = _vrpsr("generate", "sample", str(out), *ARGS)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "tasks run: 0  skipped (already done): 5" in failed.stdout
    assert "FAILED tasks after retries (1" in failed.stdout and "x264-000001" in failed.stdout
    rows = pq.read_table(out / TASK_FAILURES_PATH).to_pylist()
    assert len(rows) == 1
    assert (rows[0]["group"], rows[0]["shard"], rows[0]["attempts"]) == ("x264", 1, 1 + TASK_RETRIES)
    assert rows[0]["error"].startswith("VersionMismatch: x264-000001 on ")
    assert (
        f"numpy {installed} here, 0.0.1 in dataset.json" in rows[0]["error"] and "constraints.txt" in rows[0]["error"]
    )

    stats = _vrpsr("shards", "stats", str(out), "--no-plot")
    assert (
        stats.returncode == 0
        and "FAILED shard tasks" in stats.stdout
        and "x264-000001 after 4 attempts" in stats.stdout
    )
    verify = _vrpsr("shards", "verify", str(out), "--reencode", "0")
    assert verify.returncode == 1 and "the factory's task failed after 4 attempts: VersionMismatch" in verify.stdout

    _set_recorded_numpy(out, installed)
    again = _vrpsr("generate", "sample", str(out), *ARGS)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "tasks run: 1  skipped (already done): 5" in again.stdout
    assert not (out / TASK_FAILURES_PATH).exists()
    assert hashlib.sha256((out / shard_path("x264", 1)).read_bytes()).hexdigest() == tar_before
    assert _vrpsr("shards", "verify", str(out), "--reencode", "2").returncode == 0


def test_a_task_larger_than_any_node_is_refused_instead_of_waiting_forever(tmp_path):
    completed = _vrpsr(
        "generate",
        "sample",
        str(tmp_path / "out"),
        "--size",
        "8192",
        "--qps",
        "20-50/2",
        "--shard-size",
        "64",
        "--codecs",
        "x264",
        "--workers",
        "1",
        "--no-progress",
    )
    assert completed.returncode == 2, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "task declares" in completed.stderr and "lower --shard-size or --size" in completed.stderr
    assert "Traceback" not in completed.stderr
