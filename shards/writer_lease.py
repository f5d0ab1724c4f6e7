"""One writer per dataset root: a run holds a lease on OUT from before it reads dataset.json to its end.

Local roots: an exclusive ``flock`` on OUT/_writer.lock; the kernel drops it when the process dies, so a
crashed run never blocks the next one. The holder writes who it is (host, pid, config hash) into the file.

Object stores: OUT/_writer.json is created with ``If-None-Match: *`` (only one create succeeds) and renewed
every ``heartbeat_s`` with ``If-Match: <etag>``; a lease not renewed for ``ttl_s`` (judged by the store's
own clock: the Date header minus LastModified) has expired and is taken over with ``If-Match`` too, so two
waiters cannot both take it. A holder whose renewal is refused has lost the lease (``lost``). After a create
the lease is read back and its owner compared: a store that ignored the condition is caught there too,
unless both writers read back before either overwrote (see README, Reliability).

A second run with the same config waits for the holder to end (a line every ``say_every_s``), then goes on
(it finds the work done); a run with another config is refused at once (WriterBusyError, one line).
"""

from __future__ import annotations

import email.utils
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from shards.errors import ShardError
from shards.layout import WRITER_LEASE_FILE, WRITER_LOCK_FILE
from shards.storage import Storage

LEASE_TTL_S = 120.0
HEARTBEAT_S = 20.0
POLL_S = 2.0
SAY_EVERY_S = 30.0


class WriterBusyError(ShardError):
    """Another run with another config is writing the dataset."""


@dataclass(frozen=True)
class LeaseHolder:
    owner: str
    host: str
    pid: int
    config_hash: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, config {self.config_hash}"


class WriterLease:
    def __init__(
        self,
        storage: Storage,
        config_hash: str,
        on_wait: Callable[[str], None] = print,
        ttl_s: float = LEASE_TTL_S,
        heartbeat_s: float = HEARTBEAT_S,
        poll_s: float = POLL_S,
        say_every_s: float = SAY_EVERY_S,
    ) -> None:
        self.storage, self.on_wait = storage, on_wait
        self.ttl_s, self.heartbeat_s, self.poll_s, self.say_every_s = ttl_s, heartbeat_s, poll_s, say_every_s
        self.me = LeaseHolder(uuid.uuid4().hex, socket.gethostname(), os.getpid(), config_hash)
        self.lost = False
        self._descriptor: int | None = None
        self._etag: str | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._said_at = -float("inf")

    def __enter__(self) -> WriterLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def check(self) -> None:
        """Raise when the lease was lost (another run took it over after our renewals failed for ttl_s)."""
        if self.lost:
            raise ShardError(
                f"{self.storage.url(WRITER_LEASE_FILE)}: this run lost its writer lease (not renewed for "
                f"{self.ttl_s:.0f} s); another run writes the dataset now: rerun to resume once it ends"
            )

    def acquire(self) -> None:
        if self.storage.is_local:
            self._acquire_local()
        else:
            self._acquire_remote()

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # drops the flock; the file stays (unlinking it would race a waiter)
            self._descriptor = None
        if self._heartbeat is not None:
            self._stop.set()
            self._heartbeat.join()
            self._heartbeat = None
            current = self._head()
            if current is not None and current[0] == self.me and not self.lost:
                self._s3("delete_object")

    # waiting or refusing --------------------------------------------------------------------------------
    def _wait_or_refuse(self, holder: LeaseHolder | None) -> None:
        if holder is not None and holder.config_hash != self.me.config_hash:
            raise WriterBusyError(
                f"{self.storage.root}: another vrpsr run ({holder.describe()}) is writing this dataset with "
                f"another config (this run's is {self.me.config_hash}): wait for it to end, or write to a new OUT"
            )
        if time.monotonic() - self._said_at >= self.say_every_s:
            who = holder.describe() if holder is not None else "a run starting"
            self.on_wait(f"waiting: another run ({who}) writes {self.storage.root} with the same config")
            self._said_at = time.monotonic()
        time.sleep(self.poll_s)

    # local: flock ---------------------------------------------------------------------------------------
    def _acquire_local(self) -> None:
        path = self.storage.path(WRITER_LOCK_FILE)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ShardError(
                f"{self.storage.root}: cannot write here ({error.strerror}): choose a writable OUT"
            ) from error
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                try:
                    self._wait_or_refuse(_parse_holder(os.pread(descriptor, 4096, 0)))
                except BaseException:
                    os.close(descriptor)
                    raise
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(asdict(self.me)).encode(), 0)
        os.fsync(descriptor)
        self._descriptor = descriptor

    # object stores: conditional writes ------------------------------------------------------------------
    def _acquire_remote(self) -> None:
        while True:
            if self._put(IfNoneMatch="*"):
                current = self._head()
                if current is not None and current[0] == self.me:
                    break
                continue  # a store that ignored the condition: someone else's write landed over ours
            current = self._head()
            if current is None:
                continue  # released between our create and our look
            holder, etag, age_s = current
            if age_s > self.ttl_s and self._put(IfMatch=etag):
                self.on_wait(f"took over the writer lease of {holder.describe()}: not renewed for {age_s:.0f} s")
                break
            self._wait_or_refuse(holder)
        self._heartbeat = threading.Thread(target=self._renew, name="writer-lease", daemon=True)
        self._heartbeat.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.heartbeat_s) and not self.lost:
            self._renew_once()

    def _renew_once(self) -> None:
        try:
            if not self._put(IfMatch=self._etag):
                self.lost = True
        except (OSError, TimeoutError) as error:  # an outage: try again at the next beat
            self.on_wait(f"{self.storage.url(WRITER_LEASE_FILE)}: lease renewal failed ({error}); retrying")

    def _put(self, **condition: str) -> bool:
        """Write our lease record under ``condition``; False when the store refused the precondition."""
        try:
            response = self._s3(
                "put_object",
                Body=json.dumps(asdict(self.me)).encode(),
                Metadata={"owner": self.me.owner, "record": json.dumps(asdict(self.me))},
                **condition,
            )
        except OSError as error:
            if _precondition_failed(error):
                return False
            raise
        self._etag = response["ETag"]
        return True

    def _head(self) -> tuple[LeaseHolder | None, str, float] | None:
        """(holder, etag, seconds since its last write by the store's clock), or None when there is none."""
        try:
            response = self._s3("head_object")
        except FileNotFoundError:
            return None
        now = email.utils.parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
        holder = _parse_holder(response.get("Metadata", {}).get("record", "").encode())
        return holder, response["ETag"], (now - response["LastModified"]).total_seconds()

    def _s3(self, method: str, **kwargs):
        bucket, key, _ = self.storage.fs.split_path(self.storage.path(WRITER_LEASE_FILE))
        return self.storage.fs.call_s3(method, Bucket=bucket, Key=key, **kwargs)


def _parse_holder(data: bytes) -> LeaseHolder | None:
    try:
        return LeaseHolder(**json.loads(data))
    except (ValueError, TypeError):
        return None  # a holder between its lock and its record, or a foreign file


def _precondition_failed(error: OSError) -> bool:
    cause = error.__cause__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
    return isinstance(error, FileExistsError) or code in ("PreconditionFailed", "412")
