"""Deterministic tar shards: fixed mtime/owner/mode, members in a fixed order, built in memory.

These are exactly the bytes of ``webdataset.TarWriter(encoder=False, mtime=0, user="", group="",
mode=0o644)`` (tested in tests/shards/test_tar_format.py), and a plain ``webdataset.WebDataset`` reads
every column group. We do not import webdataset here: it imports torch whenever torch is installed, and
the factory and ``vrpsr shards`` must stay torch-free on CPU workers (docs/architecture.md)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence

from shards.errors import ShardError
from shards.layout import member_name, split_member_name

Sample = tuple[str, dict[str, bytes]]  # (key, {suffix: bytes})


def build_tar(samples: Sequence[Sample]) -> bytes:
    """A tar of the samples in the given key order, suffixes sorted within a key; byte-deterministic."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for key, members in samples:
            for suffix in sorted(members):
                data = members[suffix]
                info = tarfile.TarInfo(member_name(key, suffix))
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_tar(data: bytes, name: str) -> list[Sample]:
    """Samples of a shard in stored order; ``name`` (the shard's path) is used in errors."""
    samples: list[Sample] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for info in archive:
                if not info.isfile():
                    continue
                key, suffix = split_member_name(info.name)
                if not samples or samples[-1][0] != key:
                    if any(existing == key for existing, _ in samples):
                        raise ShardError(f"{name}: key {key} appears in two separate runs of members")
                    samples.append((key, {}))
                extracted = archive.extractfile(info)
                assert extracted is not None
                samples[-1][1][suffix] = extracted.read()
    except (tarfile.TarError, ValueError, EOFError) as error:
        raise ShardError(f"{name}: not a readable shard: {error}") from error
    return samples
