"""The _done marker of a (group, shard): written last, it says the shard is complete and what it holds.

The writer (pipeline/shard_job.py) and the readers (the factory's resume, `vrpsr shards verify`) use this
one record; its JSON is canonical (sorted keys), so a marker's bytes depend only on its fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from shards.dataset_info import to_json_bytes
from shards.errors import ShardError
from shards.layout import done_path
from shards.storage import Storage


@dataclass(frozen=True)
class DoneMarker:
    group: str
    shard: int
    config_hash: str  # the group's config hash (dataset.json) the shard was made under
    samples: int  # samples in the tar
    failed: int  # inputs recorded in failures/ instead (base group)
    bytes: int  # size of the tar
    sha256: str  # of the tar
    encode_seconds: float  # encoder time spent on the shard (codec groups)

    @classmethod
    def for_tar(
        cls,
        group: str,
        shard: int,
        config_hash: str,
        tar: bytes,
        samples: int,
        failed: int = 0,
        encode_seconds: float = 0.0,
    ) -> DoneMarker:
        return cls(
            group, shard, config_hash, samples, failed, len(tar), hashlib.sha256(tar).hexdigest(), encode_seconds
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def write_marker(storage: Storage, marker: DoneMarker) -> None:
    storage.write_bytes(done_path(marker.group, marker.shard), to_json_bytes(marker.as_dict()))


def read_marker(storage: Storage, group: str, shard: int) -> DoneMarker:
    """The marker of (group, shard); ShardError naming it when missing or malformed."""
    path = done_path(group, shard)
    data = storage.read_bytes(path)
    try:
        fields = json.loads(data)
        return DoneMarker(**{field.name: fields[field.name] for field in dataclasses.fields(DoneMarker)})
    except (ValueError, KeyError, TypeError) as error:
        raise ShardError(f"{storage.url(path)}: not a valid _done marker: {type(error).__name__}: {error}") from error
