"""failures/tasks.parquet: the shard tasks that still failed after their retries, one row each.

Written by the factory at the end of every run (the rows of earlier runs whose shard is still not done
are kept, the rest dropped; the file is removed when nothing is left); read by `vrpsr shards stats|verify`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from shards.errors import ShardError
from shards.layout import TASK_FAILURE_COLUMNS, TASK_FAILURES_PATH
from shards.storage import Storage

SCHEMA = pa.schema([("group", pa.string()), ("shard", pa.int64()), ("error", pa.string()), ("attempts", pa.int64())])
assert tuple(SCHEMA.names) == TASK_FAILURE_COLUMNS


def read_task_failures(storage: Storage) -> list[dict]:
    """The rows of failures/tasks.parquet, sorted by (group, shard); [] when the file is absent."""
    if not storage.exists(TASK_FAILURES_PATH):
        return []
    try:
        rows = pq.read_table(io.BytesIO(storage.read_bytes(TASK_FAILURES_PATH))).to_pylist()
    except pa.ArrowException as error:
        raise ShardError(f"{storage.url(TASK_FAILURES_PATH)}: unreadable parquet: {error}") from error
    return sorted(rows, key=lambda row: (row["group"], row["shard"]))


def write_task_failures(storage: Storage, rows: Sequence[dict]) -> None:
    """Replace failures/tasks.parquet with ``rows`` (each with exactly TASK_FAILURE_COLUMNS); remove it when empty."""
    if not rows:
        if storage.exists(TASK_FAILURES_PATH):
            storage.fs.rm(storage.path(TASK_FAILURES_PATH))
        return
    ordered = sorted(rows, key=lambda row: (row["group"], row["shard"]))
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ordered, schema=SCHEMA), buffer, compression="zstd")
    storage.write_bytes(TASK_FAILURES_PATH, buffer.getvalue())
