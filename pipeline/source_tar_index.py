"""Tar headers without extracting: the regular members of an archive, or of a byte window of one
(an inner tar of a nested tar), as (name, data offset, size), with damage noticed instead of hidden.

tarfile alone stops quietly at a corrupt header after the first one; `iter_tar_entries` checks
where it stopped and raises TarDamaged after the good members, so the caller can record the loss.
"""
from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pipeline.errors import SourceError

BLOCK = 512


class TarDamaged(SourceError):
    """The archive (or inner tar) is corrupt or truncated; the message names it and the byte."""


@dataclass(frozen=True, slots=True)
class TarEntry:
    name: str
    offset: int  # of the member's data, from the start of the handle given to iter_tar_entries
    size: int


class ByteWindow(io.RawIOBase):
    """Bytes [start, start + length) of a seekable binary file, as a file of its own."""

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._handle, self._start, self._length, self._position = handle, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + position)
        return self._position

    def read(self, size: int = -1) -> bytes:
        remaining = max(0, self._length - self._position)
        size = remaining if size is None or size < 0 else min(size, remaining)
        if size == 0:
            return b""
        self._handle.seek(self._start + self._position)
        data = self._handle.read(size)
        self._position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def iter_tar_entries(handle: BinaryIO, length: int, description: str) -> Iterator[TarEntry]:
    """Regular-file members in stored order; TarDamaged (after the good ones) if the tar is damaged.

    `handle` is positioned anywhere (it is sought); `length` is the archive's size in bytes;
    `description` names the archive in errors. Only headers are read: tarfile seeks past the data.
    """
    try:
        archive = tarfile.open(fileobj=handle, mode="r:")  # noqa: SIM115 -- closing it leaves `handle` open
    except (tarfile.TarError, EOFError, OSError) as error:
        raise TarDamaged(f"{description}: not a readable tar ({type(error).__name__}: {error})") from error
    with archive:
        while True:
            try:
                info = archive.next()
            except (tarfile.TarError, EOFError, OSError) as error:
                raise TarDamaged(f"{description}: unreadable header after byte {archive.offset} ({error})") from error
            if info is None:
                break
            archive.members.clear()  # tarfile keeps every TarInfo otherwise: 1.28 M of them on a big archive
            if not info.isfile():
                continue
            if info.offset_data + info.size > length:
                raise TarDamaged(f"{description}: member {info.name} is truncated (needs byte "
                                 f"{info.offset_data + info.size}, the archive has {length})")  # fmt: skip
            yield TarEntry(info.name, info.offset_data, info.size)
        _check_clean_end(handle, archive.offset, length, description)


def _check_clean_end(handle: BinaryIO, stop: int, length: int, description: str) -> None:
    """tarfile stops at the end-of-archive zeros, or silently at a bad header: tell the two apart."""
    if stop >= length:
        return
    handle.seek(stop)
    block = handle.read(min(BLOCK, length - stop))
    if block.strip(b"\0"):
        raise TarDamaged(f"{description}: invalid tar header at byte {stop} (members after it are lost)")
