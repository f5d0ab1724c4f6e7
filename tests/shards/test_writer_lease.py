"""One writer per dataset root: a local flock and an S3 lease object (conditional writes on a real SeaweedFS)."""

from __future__ import annotations

import threading
import time

import pytest

from shards.errors import ShardError
from shards.storage import Storage
from shards.writer_lease import WriterBusyError, WriterLease

DEADLINE_S = 60.0


def _wait_for(condition, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.05)


def _roots(request, tmp_path) -> tuple[str, dict | None]:
    if request.param == "folder":
        return str(tmp_path / "out"), None
    server = request.getfixturevalue("s3_server")
    return f"s3://{server.bucket}/lease-{tmp_path.name}", server.storage_options


@pytest.fixture(params=["folder", "s3"])
def root(request, tmp_path) -> tuple[str, dict | None]:
    return _roots(request, tmp_path)


def _lease(root: tuple[str, dict | None], config_hash: str, said: list[str] | None = None, **timing) -> WriterLease:
    said = [] if said is None else said
    return WriterLease(Storage(*root), config_hash, on_wait=said.append, poll_s=0.05, **timing)


def test_another_config_is_refused_in_one_line_while_a_run_writes(root) -> None:
    with _lease(root, "config-a"):
        with pytest.raises(WriterBusyError) as refused:
            _lease(root, "config-b").acquire()
    message = str(refused.value)
    assert "another config" in message and "config-a" in message and "new OUT" in message and "\n" not in message
    with _lease(root, "config-b"):  # released: the next run (of any config) may write
        pass


def test_the_same_config_waits_for_the_writer_and_then_goes_on(root) -> None:
    first, said = _lease(root, "config-a"), []
    first.acquire()
    second = _lease(root, "config-a", said)
    acquired = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), acquired.set()))
    waiter.start()
    _wait_for(lambda: said)
    assert not acquired.is_set() and "waiting: another run" in said[0] and "same config" in said[0]
    first.release()
    _wait_for(acquired.is_set)
    waiter.join()
    second.release()


def test_an_unwritable_folder_is_one_line_naming_it(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ShardError, match="cannot write here .*: choose a writable OUT"):
        WriterLease(Storage(str(blocker / "out")), "config-a").acquire()


def test_a_crashed_runs_s3_lease_expires_and_its_late_renewal_is_refused(s3_server, tmp_path) -> None:
    """The crashed holder stops renewing; a waiter takes over once the store's clock says ttl passed; the old
    holder, coming back, finds its If-Match renewal refused and knows it lost the lease."""
    root = (f"s3://{s3_server.bucket}/crash-{tmp_path.name}", s3_server.storage_options)
    crashed = _lease(root, "config-a", heartbeat_s=0.2, ttl_s=2.0)
    crashed.acquire()
    crashed._stop.set()  # its heartbeat thread dies with the process
    crashed._heartbeat.join()
    said: list[str] = []
    successor = _lease(root, "config-a", said, ttl_s=2.0, heartbeat_s=0.2)
    started = time.monotonic()
    successor.acquire()
    assert time.monotonic() - started >= 1.0 and any("took over the writer lease" in line for line in said)
    crashed._stop.clear()
    crashed._renew_once()
    assert crashed.lost
    with pytest.raises(ShardError, match="lost its writer lease"):
        crashed.check()
    successor.release()
    assert not successor.lost
