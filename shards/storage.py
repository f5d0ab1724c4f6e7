"""Reading and writing a dataset root, local or on an object store (fsspec), atomically.

Local: write to a temporary file in the same folder, fsync, rename. Object stores: a PUT is atomic
per object. Either way a reader never sees half a file; completion is signalled by the _done marker,
written after everything else. Credentials come from the environment / fsspec config only.

Object-store outages (connection refused or reset, timeouts, 503 SlowDown) are waited out with
exponential backoff up to ``retry_seconds`` (default 5 minutes), each wait logged; past that the
operation raises StorageUnavailableError, which is not a data error: readers never turn an outage
into skipped data. A missing object or a refused permission is not retried.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

import fsspec
from fsspec.implementations.local import LocalFileSystem

from shards.errors import ShardError, StorageUnavailableError

LOG = logging.getLogger("shards.storage")
RETRY_SECONDS = 300.0  # how long an object-store outage is waited out before giving up
FIRST_CONTACT_SECONDS = 10.0  # before a job has talked to the store, an unreachable one fails this fast
FIRST_BACKOFF, MAX_BACKOFF = 0.2, 10.0


def _transient_errors() -> tuple[type[BaseException], ...]:
    """What an object store raises for an outage: OSError/TimeoutError from fsspec, and botocore's own
    connection and read-timeout errors (s3fs lets EndpointConnectionError through untranslated)."""
    try:
        from botocore.exceptions import BotoCoreError
    except ImportError:
        return (OSError, TimeoutError)
    return (OSError, TimeoutError, BotoCoreError)


def _credential_errors() -> tuple[type[BaseException], ...]:
    """Missing credentials: botocore calls them BotoCoreErrors, but waiting never brings them."""
    try:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError
    except ImportError:
        return ()
    return (NoCredentialsError, PartialCredentialsError)


class Storage:
    def __init__(self, root: str, storage_options: dict | None = None, retry_seconds: float = RETRY_SECONDS) -> None:
        self.root = root.rstrip("/")
        self.retry_seconds = retry_seconds
        protocol = fsspec.utils.get_protocol(self.root)
        self.fs, self.base = fsspec.core.url_to_fs(self.root, **({} if protocol == "file" else (storage_options or {})))
        self.is_local = isinstance(self.fs, LocalFileSystem)
        client_kwargs = (storage_options or {}).get("client_kwargs", {})
        self.endpoint = (
            client_kwargs.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or "the default endpoint"
        )

    def check_reachable(self, within_seconds: float = FIRST_CONTACT_SECONDS) -> None:
        """One listing of the root, waited out for ``within_seconds`` only: a store that cannot be reached, or
        credentials that are missing or refused, fail in seconds naming the endpoint. Call it before a job
        starts; the long outage retry is for a store the job has already talked to."""
        if self.is_local:
            return
        patient, self.retry_seconds = self.retry_seconds, within_seconds
        try:
            self.list("")
        except StorageUnavailableError as error:
            raise ShardError(
                f"{self.root}: cannot reach the object store at {self.endpoint} ({error.__cause__}): check "
                "--s3-endpoint / AWS_ENDPOINT_URL and that the store runs"
            ) from error
        finally:
            self.retry_seconds = patient

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def url(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def exists(self, relative: str) -> bool:
        self._forget_listings()
        return self._retry(lambda: self.fs.exists(self.path(relative)), relative)

    def read_bytes(self, relative: str) -> bytes:
        try:
            return self._retry(lambda: self.fs.cat_file(self.path(relative)), relative)
        except FileNotFoundError as error:
            raise ShardError(f"{self.url(relative)}: missing") from error

    def write_bytes(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
        if not self.is_local:
            self._retry(lambda: self.fs.pipe_file(target, data), relative)
            return
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def list(self, folder: str) -> list[str]:
        """Relative paths of the files directly in ``folder`` (empty when it does not exist)."""
        self._forget_listings()
        try:
            entries = self._retry(lambda: self.fs.ls(self.path(folder), detail=False), folder)
        except FileNotFoundError:
            return []
        names = sorted(os.path.basename(str(entry).rstrip("/")) for entry in entries)
        return [f"{folder}/{name}" for name in names if not name.startswith(".")]

    def _forget_listings(self) -> None:
        """Object-store listings are cached by fsspec; other workers write concurrently."""
        if not self.is_local:
            self.fs.invalidate_cache()

    def _retry(self, action, relative: str):
        """Run `action`, waiting out transient object-store errors with backoff for up to retry_seconds."""
        if self.is_local:
            try:
                return action()
            except FileNotFoundError:
                raise
            except (OSError, TimeoutError) as error:
                raise ShardError(f"{self.url(relative)}: {type(error).__name__}: {error}") from error
        started, backoff, attempt = time.monotonic(), FIRST_BACKOFF, 0
        while True:
            attempt += 1
            try:
                return action()
            except FileNotFoundError:
                raise
            except PermissionError as error:  # wrong credentials or policy: waiting will not help
                raise ShardError(f"{self.url(relative)}: permission denied: {error}") from error
            except _credential_errors() as error:
                raise ShardError(
                    f"{self.url(relative)}: no S3 credentials for {self.endpoint} ({error}): set "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
                ) from error
            except _transient_errors() as error:
                waited = time.monotonic() - started
                if waited + backoff > self.retry_seconds:
                    raise StorageUnavailableError(
                        f"{self.url(relative)}: object store at {self.endpoint} unavailable for {waited:.1f} s after {attempt} attempts "
                        f"(retry limit {self.retry_seconds:.0f} s): {type(error).__name__}: {error}"
                    ) from error
                LOG.warning(
                    "%s: %s: %s; attempt %d failed, retrying in %.1f s (waited %.1f s of %.0f s)",
                    self.url(relative),
                    type(error).__name__,
                    error,
                    attempt,
                    backoff,
                    waited,
                    self.retry_seconds,
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
