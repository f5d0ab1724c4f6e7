"""Reading and writing a dataset root, local or on an object store (fsspec), atomically.

Local: write to a temporary file in the same folder, fsync, rename. Object stores: a PUT is atomic
per object. Either way a reader never sees half a file; completion is signalled by the _done marker,
written after everything else. Credentials come from the environment / fsspec config only.
"""
from __future__ import annotations

import os
import tempfile
import time

import fsspec
from fsspec.implementations.local import LocalFileSystem

from shards.errors import ShardError

RETRIES = 4


class Storage:
    def __init__(self, root: str, storage_options: dict | None = None) -> None:
        self.root = root.rstrip("/")
        protocol = fsspec.utils.get_protocol(self.root)
        self.fs, self.base = fsspec.core.url_to_fs(self.root, **({} if protocol == "file" else (storage_options or {})))
        self.is_local = isinstance(self.fs, LocalFileSystem)

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
        """Retry transient errors (network, throttling) with backoff; missing files are not retried."""
        for attempt in range(RETRIES):
            try:
                return action()
            except FileNotFoundError:
                raise
            except (OSError, TimeoutError) as error:
                if self.is_local or attempt == RETRIES - 1:
                    raise ShardError(f"{self.url(relative)}: {type(error).__name__}: {error}") from error
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")
