"""Parquet manifests: one table per (group, shard); read back as one table per group."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from shards.errors import ShardError
from shards.layout import BASE_GROUP, BASE_MANIFEST_COLUMNS, CODEC_MANIFEST_COLUMNS, FAILURE_COLUMNS
from shards.storage import Storage

SCHEMAS = {
    "base": pa.schema(
        [
            ("key", pa.string()),
            ("shard", pa.int64()),
            ("source", pa.string()),
            ("width", pa.int64()),
            ("height", pa.int64()),
            ("label", pa.string()),
            ("source_fields", pa.string()),
        ]
    ),
    "codec": pa.schema(
        [
            ("key", pa.string()),
            ("shard", pa.int64()),
            ("codec", pa.string()),
            ("picture", pa.string()),
            ("mode", pa.string()),
            ("qp", pa.int64()),
            ("crf", pa.float64()),
            ("bpp", pa.float64()),
            ("psnr", pa.float64()),
            ("bytes", pa.int64()),
            ("sha256", pa.string()),
            ("member", pa.string()),
        ]
    ),
    "failures": pa.schema([("shard", pa.int64()), ("source", pa.string()), ("reason", pa.string())]),
}
assert tuple(SCHEMAS["base"].names) == BASE_MANIFEST_COLUMNS
assert tuple(SCHEMAS["codec"].names) == CODEC_MANIFEST_COLUMNS
assert tuple(SCHEMAS["failures"].names) == FAILURE_COLUMNS


def table_bytes(rows: Sequence[dict], kind: str) -> bytes:
    """Rows (dicts with exactly the schema's columns) as parquet bytes; deterministic for one pyarrow version."""
    schema = SCHEMAS[kind]
    table = pa.Table.from_pylist(list(rows), schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", write_statistics=False)
    return buffer.getvalue()


def read_table(storage: Storage, relative: str) -> pa.Table:
    try:
        return pq.read_table(io.BytesIO(storage.read_bytes(relative)))
    except pa.ArrowException as error:
        raise ShardError(f"{storage.url(relative)}: unreadable parquet: {error}") from error


def read_group(storage: Storage, group: str, folder: str = "manifest") -> pa.Table:
    """All manifest tables of ``group`` (or all failure tables with folder='failures'), concatenated."""
    kind = "failures" if folder == "failures" else ("base" if group == BASE_GROUP else "codec")
    parts = [
        read_table(storage, path) for path in storage.list(folder) if path.rsplit("/", 1)[-1].startswith(f"{group}-")
    ]
    if not parts:
        return SCHEMAS[kind].empty_table()
    return pa.concat_tables(parts)
