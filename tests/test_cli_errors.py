"""The vrpsr command under misuse: an expected error is one line naming the thing and the fix (rc 2), a
traceback only with --debug or VRPSR_DEBUG=1; missing S3 credentials and an unreachable endpoint fail fast."""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from tests.pipeline.factory_helpers import REPO
from tests.s3_server import pick_free_ports
from vrpsr_cli.errors import one_line
from vrpsr_cli.main import main

SMALL = ("--codecs", "x264", "--qps", "40", "--size", "64", "--shard-size", "4", "--workers", "1", "--no-progress")
UNWRITABLE = "/sys/vrpsr-out"  # even root may not make a folder here


def error_lines(stderr: str) -> list[str]:
    """stderr without warnings and retry notices: what must be one line is the error itself."""
    return [
        line for line in stderr.strip().splitlines() if ": warning: " not in line and not line.startswith("retrying: ")
    ]


def _vrpsr(*arguments: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vrpsr_cli.main", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else dict(os.environ),
    )


def _without_aws(**extra: str) -> dict:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", **extra}


def test_an_unwritable_out_is_one_line_naming_it(capsys) -> None:
    assert main(["generate", "sample", UNWRITABLE, *SMALL]) == 2
    error = capsys.readouterr().err
    assert len(error_lines(error)) == 1 and UNWRITABLE in error and "choose a writable OUT" in error


def test_debug_shows_the_traceback(capsys, monkeypatch) -> None:
    with pytest.raises(Exception, match="cannot write here"):
        main(["--debug", "generate", "sample", UNWRITABLE, *SMALL])
    monkeypatch.setenv("VRPSR_DEBUG", "1")
    with pytest.raises(Exception, match="cannot write here"):
        main(["generate", "sample", UNWRITABLE, *SMALL])


def test_missing_s3_credentials_fail_fast_in_one_line(s3_server) -> None:
    """They were retried for 5 minutes as an outage (NoCredentialsError is a BotoCoreError), then a traceback."""
    started = time.monotonic()
    completed = _vrpsr(
        "generate", "sample", f"s3://{s3_server.bucket}/no-credentials", "--s3-endpoint", s3_server.endpoint_url,
        *SMALL, env=_without_aws(),
    )  # fmt: skip
    print(f"refused after {time.monotonic() - started:.1f} s")
    assert completed.returncode == 2, completed.stderr[-2000:]
    lines = error_lines(completed.stderr)
    assert len(lines) == 1 and "no S3 credentials" in lines[0] and "AWS_ACCESS_KEY_ID" in lines[0]
    assert s3_server.endpoint_url in lines[0]


def test_an_unreachable_endpoint_fails_fast_naming_it() -> None:
    """The first request of a job that cannot connect is not an outage to wait out for 5 minutes."""
    endpoint = f"http://127.0.0.1:{pick_free_ports(1)[0]}"
    started = time.monotonic()
    completed = _vrpsr(
        "generate", "sample", "s3://bucket/out", "--s3-endpoint", endpoint, *SMALL,
        env=_without_aws(AWS_ACCESS_KEY_ID="some-key", AWS_SECRET_ACCESS_KEY="some-secret"),
    )  # fmt: skip
    print(f"refused after {time.monotonic() - started:.1f} s")
    assert completed.returncode == 2, completed.stderr[-2000:]
    lines = error_lines(completed.stderr)
    assert len(lines) == 1 and f"cannot reach the object store at {endpoint}" in lines[0], lines


def test_a_damaged_checkpoint_is_one_line_naming_the_argument(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(SafetensorError) as damaged:
        load_file(str(folder / "model.safetensors"))
    line = one_line("train", argparse.Namespace(simulator=str(folder), resume=None), damaged.value)
    assert "\n" not in line and f"simulator={folder}" in line and "give an intact checkpoint folder" in line
    (folder / "optimizer.bin").write_bytes(b"not a pickle at all")
    with pytest.raises(pickle.UnpicklingError) as unpickled:
        torch.load(folder / "optimizer.bin", weights_only=True)
    line = one_line("train", argparse.Namespace(resume=str(folder)), unpickled.value)
    assert "\n" not in line and f"resume={folder}" in line and "damaged" in line
