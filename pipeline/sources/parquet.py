"""Parquet files of image bytes as a source (the Hugging Face datasets layout, or plain binary).

Image column: `image_column` if given, else the first struct column with a binary `bytes` field
(Hugging Face's Image feature, {bytes, path}), else the first binary column. Label column:
`label_column` if given, else the first of `label`, `cls` present (optional); its value as text.
Listing reads, per row group, only the struct's `path` field and the label (never image bytes):
an item per row, key_hint = the row's `path` when it has one, else `<file name>/<row in file, 9 digits>`.
Order: the files in the order given, rows in stored order. Reading an item reads its row group's
image column once (a small per-process cache: a shard's rows are consecutive). A row without image
bytes fails when read (a failure row naming file, row group and row); an unreadable file is one
failing item named after it.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

from pipeline.errors import SourceError
from pipeline.sources.item import SourceItem, filesystem, full_uri

PARQUET_EXTENSION = ".parquet"
LABEL_COLUMN_NAMES = ("label", "cls")


def is_parquet_name(name: str) -> bool:
    return name.lower().endswith(PARQUET_EXTENSION)


def iter_parquet(
    file_uris: Iterable[str],
    storage_options: dict | None,
    image_column: str | None = None,
    label_column: str | None = None,
) -> Iterator[SourceItem]:
    for uri in file_uris:
        fs, path = filesystem(uri, storage_options)
        yield from _file_items(fs, path, full_uri(fs, path), image_column, label_column)


def read_parquet_image(item: SourceItem, storage_options: dict | None) -> bytes:
    fs, path = filesystem(item.uri, storage_options)
    values = _row_group_column(fs, path, item.row_group, item.member)
    if item.row >= len(values):
        raise SourceError(f"{item.name}: the row group has only {len(values)} rows")
    value = values[item.row].as_py()
    data = value.get("bytes") if isinstance(value, dict) else value
    if not data:
        raise SourceError(f"{item.name}: no image bytes (null or empty)")
    return data


def _file_items(
    fs: AbstractFileSystem, path: str, file_uri: str, image_column: str | None, label_column: str | None
) -> Iterator[SourceItem]:
    file_name = posixpath.basename(path)
    with fs.open(path, "rb") as handle:
        try:
            parquet = pq.ParquetFile(handle)
        except (pa.ArrowException, OSError) as error:
            yield SourceItem(file_name, file_uri, error=f"{file_uri}: not a readable parquet file ({error})")
            return
        schema = parquet.schema_arrow
        image, has_path = _image_column(schema, image_column, file_uri)
        label = _label_column(schema, label_column, file_uri)
        columns = ([f"{image}.path"] if has_path else []) + ([label] if label else [])
        row_in_file = 0
        for group in range(parquet.metadata.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            try:
                table = parquet.read_row_group(group, columns=columns).flatten() if columns else None
            except (pa.ArrowException, OSError) as error:
                yield SourceItem(
                    f"{file_name}/row-group-{group}",
                    file_uri,
                    member=image,
                    error=(f"{file_uri}: row group {group} unreadable ({error})"),
                )
                row_in_file += rows
                continue
            paths = table.column(f"{image}.path").to_pylist() if has_path else [None] * rows
            labels = table.column(label).to_pylist() if label else [None] * rows
            for row in range(rows):
                key_hint = paths[row] or f"{file_name}/{row_in_file:09d}"
                yield SourceItem(
                    key_hint, file_uri, member=image, row_group=group, row=row, label=_label_text(labels[row])
                )
                row_in_file += 1


def _is_bytes(data_type: pa.DataType) -> bool:
    return pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type)


def _image_column(schema: pa.Schema, wanted: str | None, file_uri: str) -> tuple[str, bool]:
    """(column name, whether it is a struct with a string `path` field)."""
    if wanted is not None and wanted not in schema.names:
        raise SourceError(f"{file_uri}: no column {wanted!r} (columns: {', '.join(schema.names)})")
    candidates = [wanted] if wanted is not None else schema.names
    for want_struct in (True, False):
        for name in candidates:
            data_type = schema.field(name).type
            if (
                want_struct
                and pa.types.is_struct(data_type)
                and data_type.get_field_index("bytes") >= 0
                and _is_bytes(data_type.field("bytes").type)
            ):
                path_index = data_type.get_field_index("path")
                return name, path_index >= 0 and pa.types.is_string(data_type.field(path_index).type)
            if not want_struct and _is_bytes(data_type):
                return name, False
    if wanted is not None:
        raise SourceError(
            f"{file_uri}: column {wanted!r} is {schema.field(wanted).type}, not image bytes "
            "(a struct {bytes, path} or a binary column)"
        )
    raise SourceError(
        f"{file_uri}: no image-bytes column (a struct {{bytes, path}} as Hugging Face writes it, or "
        f"binary) among {', '.join(schema.names)}; name it with --image-column"
    )


def _label_column(schema: pa.Schema, wanted: str | None, file_uri: str) -> str | None:
    if wanted is not None:
        if wanted not in schema.names:
            raise SourceError(f"{file_uri}: no label column {wanted!r} (columns: {', '.join(schema.names)})")
        return wanted
    return next((name for name in LABEL_COLUMN_NAMES if name in schema.names), None)


def _label_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


@functools.lru_cache(maxsize=2)
def _row_group_column(fs: AbstractFileSystem, path: str, row_group: int, column: str) -> pa.Array:
    """One row group's image column (files must not change during a run)."""
    with fs.open(path, "rb") as handle:
        table = pq.ParquetFile(handle).read_row_group(row_group, columns=[column])
    return table.column(0).combine_chunks()
