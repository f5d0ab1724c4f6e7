"""SourceItem (one input of a factory run) and the small helpers every source kind shares."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from pipeline.errors import SourceError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One input. Compact (slots): a listing of ImageNet holds 1.28 M of them.

    key_hint names the input (a path relative to the source, `class/member` of a nested tar, ...): it
    seeds the input's crop and degradation and is the `source` column of the manifest. uri is the
    file that holds the bytes: an image file, a tar archive (read at [offset, offset + size)), or a
    parquet file (column `member`, row `row` of row group `row_group`). label is the class (class
    folder or class tar name, parquet label column, WebDataset cls); fields carries a WebDataset
    sample's key/cls/txt/json as compact JSON. error is set when listing found the entry unreadable
    (a corrupt inner tar or parquet file): reading the item raises it, so it becomes a failure row.
    """

    key_hint: str
    uri: str
    member: str = ""
    offset: int = -1
    size: int = -1
    row_group: int = -1
    row: int = -1
    label: str | None = None
    fields: str | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """What errors call the input: the file, plus the member or row inside it."""
        if self.row_group >= 0:
            return f"{self.uri} [column {self.member}, row group {self.row_group}, row {self.row}]"
        return f"{self.uri} [{self.member}]" if self.member else self.uri


def failure_source(item: SourceItem) -> str:
    """The `source` of an item's failure row: its key hint, plus the inner tar when the key hint names only
    its class folder (a damaged class tar of a nested tar: `n01440764/ [n01440764.tar]`)."""
    if item.error is not None and item.member and item.key_hint.endswith("/"):
        return f"{item.key_hint} [{item.member}]"
    return item.key_hint


def has_image_extension(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_hidden(relative_path: str) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative_path.split("/"))


def filesystem(uri: str, storage_options: dict | None) -> tuple[AbstractFileSystem, str]:
    """fsspec filesystem and path of `uri`; storage_options go to non-local locations only."""
    options = {} if fsspec.utils.get_protocol(uri) == "file" else dict(storage_options or {})
    try:
        return fsspec.core.url_to_fs(uri, **options)
    except Exception as error:
        raise SourceError(f"{uri}: cannot open location ({type(error).__name__}: {error})") from error


def full_uri(fs: AbstractFileSystem, path: str) -> str:
    """Local files keep a plain absolute path; anything else gets its protocol back."""
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def label_of_path(relative_path: str) -> str | None:
    """The class of an image in a tree: its top-level folder (torchvision ImageFolder's rule), if any."""
    parts = [part for part in relative_path.split("/") if part not in ("", ".")]
    return parts[0] if len(parts) > 1 else None
