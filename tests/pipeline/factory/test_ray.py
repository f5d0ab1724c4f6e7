"""`vrpsr generate` end to end on a real local Ray: determinism over worker counts, resume after a
killed driver, a killed worker, adding a codec group later, S3 output on a real SeaweedFS."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import s3fs

from tests.pipeline.factory_helpers import REPO, file_hashes, generate_command, run_generate, write_list

pytestmark = pytest.mark.slow
IMAGES = 8  # 3 shards of 3 (the last one 2)


@pytest.fixture(scope="module")
def inputs(jpeg_dir, tmp_path_factory):
    return write_list(tmp_path_factory.mktemp("inputs"), sorted(jpeg_dir.glob("*.JPEG"))[:IMAGES])


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """An uninterrupted run with 2 workers: the bytes every other run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "out"
    completed = run_generate(str(inputs), str(out), "--workers", "2")
    assert f"images done: {IMAGES}" in completed.stdout
    return out


def test_one_worker_gives_the_same_bytes_as_two(inputs, reference, tmp_path):
    run_generate(str(inputs), str(tmp_path / "out"), "--workers", "1")
    expected = file_hashes(reference)
    assert len(expected) == 3 * 4 + 3 * 4 + 3  # 3 shards x (4 tars + 4 manifests) + 3 failure tables
    assert file_hashes(tmp_path / "out") == expected
    info = json.loads((reference / "dataset.json").read_text())
    assert set(info["groups"]) == {"base", "x264", "x265", "vvenc"} and info["num_inputs"] == IMAGES
    assert all(len(list((reference / "_done").glob(f"{g}-*.json"))) == 3 for g in info["groups"])


def test_killed_driver_resumes_to_identical_bytes(inputs, reference, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        generate_command(str(inputs), str(out), "--workers", "1"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "_done").glob("*.json"))) < 3:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # Count the markers once every process of the run (its Ray workers share its session) is gone: a fixed
    # 2 s sleep here let a worker that was still dying under load write a marker after the count (flaky).
    deadline = time.monotonic() + 120
    while _session_processes(process.pid):
        assert time.monotonic() < deadline, "the killed run's Ray processes did not end"
        time.sleep(0.1)
    done_before = len(list((out / "_done").glob("*.json")))
    assert 3 <= done_before < 12, "the driver should have died mid-job"
    completed = run_generate(str(inputs), str(out), "--workers", "2")
    assert f"tasks run: {12 - done_before}  skipped (already done): {done_before}" in completed.stdout
    assert file_hashes(out) == file_hashes(reference)
    base_keys = [
        k for p in sorted((out / "manifest").glob("base-*.parquet")) for k in pq.read_table(p).column("key").to_pylist()
    ]
    assert len(base_keys) == len(set(base_keys)) == IMAGES


def _session_processes(session: int) -> dict[int, str]:
    """pid -> command line of every live process of the session (a run started with start_new_session: its
    Ray processes too); another job's processes on a shared machine are never among them."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...
            if int(fields[3]) == session and fields[0] != "Z":
                found[int(entry.name)] = command
    return found


def _ray_task_workers(session: int) -> list[int]:
    """This run's Ray task workers (killing another job's worker would test nothing and harm that job)."""
    return [
        pid
        for pid, command in _session_processes(session).items()
        if command.startswith(("ray::codec_task", "ray::base_task"))
    ]


def test_killed_worker_is_retried_and_the_job_completes(inputs, reference, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        generate_command(str(inputs), str(out), "--workers", "2"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        workers = _ray_task_workers(process.pid)
        if workers:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    output, _ = process.communicate(timeout=300)
    assert killed is not None, "never saw a running Ray task to kill"
    assert process.returncode == 0, output[-3000:]
    assert f"images done: {IMAGES}" in output
    assert file_hashes(out) == file_hashes(reference)


def test_codec_group_added_later_leaves_base_untouched(inputs, reference, tmp_path):
    out = tmp_path / "out"
    run_generate(str(inputs), str(out), "--codecs", "x264")
    base_before = file_hashes(out, ("base",))
    completed = run_generate(str(inputs), str(out), "--codecs", "vvenc")
    assert "skipped (already done): 3" in completed.stdout  # the 3 base shards
    assert file_hashes(out, ("base",)) == base_before
    assert file_hashes(out, ("vvenc",)) == file_hashes(reference, ("vvenc",))
    info = json.loads((out / "dataset.json").read_text())
    assert {"base", "x264", "vvenc"} <= set(info["groups"])


def test_rerun_with_another_config_on_the_same_out_is_refused(inputs, reference, tmp_path):
    out = tmp_path / "out"
    run_generate(str(inputs), str(out), "--codecs", "x264")
    completed = subprocess.run(
        generate_command(str(inputs), str(out), "--codecs", "x264", "--seed", "7"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 2
    assert "was made with config" in completed.stderr and "Traceback" not in completed.stderr


def test_generate_to_s3(inputs, reference, s3_server):
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    url = f"s3://{s3_server.bucket}/factory-test"
    completed = run_generate(str(inputs), url, "--s3-endpoint", s3_server.endpoint_url, env=env)
    assert s3_server.secret_key not in completed.stdout + completed.stderr
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    expected = file_hashes(reference)
    remote = {}
    for relative in expected:
        remote[relative] = hashlib.sha256(fs.cat_file(f"{s3_server.bucket}/factory-test/{relative}")).hexdigest()
    assert remote == expected
    assert len(fs.ls(f"{s3_server.bucket}/factory-test/_done")) == 12
