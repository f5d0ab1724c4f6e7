"""dataset.json: schema version, the config of every column group, seeds and codec versions."""

from __future__ import annotations

import json

from shards.errors import ShardError
from shards.layout import DATASET_FILE, SCHEMA_VERSION
from shards.storage import Storage


def read_dataset_info(storage: Storage) -> dict | None:
    """The parsed dataset.json, or None when the root holds no dataset yet."""
    if not storage.exists(DATASET_FILE):
        return None
    try:
        info = json.loads(storage.read_bytes(DATASET_FILE))
    except json.JSONDecodeError as error:
        raise ShardError(f"{storage.url(DATASET_FILE)}: not valid JSON: {error}") from error
    if info.get("schema_version") != SCHEMA_VERSION:
        raise ShardError(
            f"{storage.url(DATASET_FILE)}: schema version {info.get('schema_version')}, this vrpsr reads {SCHEMA_VERSION}"
        )
    return info


def require_dataset_info(storage: Storage) -> dict:
    """The parsed dataset.json of a root that must hold a dataset (readers: loader, verify, stats)."""
    info = read_dataset_info(storage)
    if info is None:
        raise ShardError(f"{storage.root}: no {DATASET_FILE} (not a vrpsr dataset root)")
    return info


def write_dataset_info(storage: Storage, info: dict) -> None:
    storage.write_bytes(DATASET_FILE, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())


def to_json_bytes(value: object) -> bytes:
    """Canonical JSON (sorted keys, no whitespace variance) for members and markers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()
