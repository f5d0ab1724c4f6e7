"""List the input images of a factory run (streaming) and read their bytes.

A SOURCE is one of (local or any fsspec location: s3://bucket/prefix, ...):
  "sample"            the natural photographs shipped in scikit-image's data folder;
  a folder            any tree of images (ImageNet class folders included), searched recursively;
                      but a folder without sub-folders or image files that holds .tar files is a set of
                      WebDataset shards (its .tar files), else one that holds .parquet files is a set of
                      parquet files (so a stray .tar beside class folders does not change the kind);
  a .txt file         one path or URI per line (blank lines and '#' comments skipped; relative to the
                      text file, also on s3): image files, or, when every line names a .tar, WebDataset
                      shards, or when every line names a .parquet, parquet files;
  a .tar archive      a tar of class tars (the official ILSVRC2012_img_train.tar: its first member
                      that is a .tar or an image is a .tar; see nested_tar), else a tar of images;
  a pattern           braces and/or globs (`imagenet-train-{0000..1023}.tar`, `train-*.parquet`;
                      see patterns) naming .tar files (WebDataset shards, see webdataset)
                      or .parquet files (see parquet);
  a .parquet file     rows of image bytes (Hugging Face layout or a binary column);
  an image file       that image alone.
So a set of tars is always read as WebDataset shards and a single tar as an archive of images (or of
class tars); to read one tar as a WebDataset shard, name it in a .txt list or a range: `shard-{0000..0000}.tar`.

Order (decides sample keys; the same order gives the same shards): folders, text lists, tars of
images and nested tars are sorted by key_hint; WebDataset shards and parquet files keep the order the
source names them in (pattern expansion, sorted glob or folder listing, text-file lines), samples
and rows in stored order. Folders and text lists skip names without an image extension (case-
insensitive) and hidden names (a part starting with '.'); whether a file decodes is found out later.
Labels: a tree's top-level folder, the class tar, the parquet label column, the WebDataset cls.

Listing reads names and tar headers (tarfile seeks past the data) and parquet path/label columns,
never image bytes; items carry byte offsets, so reading one is a single ranged read. Credentials are
never part of a URI: s3 takes them from the environment / fsspec config or from `storage_options`.
"""

from __future__ import annotations

import gc
import os
import posixpath
import stat
import sys
from collections.abc import Iterator

from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from pipeline.errors import SourceError
from pipeline.sources.item import (
    IMAGE_EXTENSIONS,
    SourceItem,
    filesystem,
    full_uri,
    has_image_extension,
    is_hidden,
    label_of_path,
)
from pipeline.sources.nested_tar import first_member_is_tar, is_tar_name, iter_nested_tar, iter_plain_tar
from pipeline.sources.parquet import is_parquet_name, iter_parquet, read_parquet_image
from pipeline.sources.patterns import expand_pattern, is_pattern
from pipeline.sources.webdataset import iter_webdataset

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "IMAGE_EXTENSIONS",
    "SAMPLE_IMAGES",
    "SAMPLE_SOURCE",
    "SourceItem",
    "has_image_extension",
    "iter_source",
    "list_source",
    "read_bytes",
]

SAMPLE_SOURCE = "sample"
DEFAULT_MAX_INPUT_BYTES = 256 * 2**20  # one input file or member; larger ones (and endless ones) are failure rows
# scikit-image's natural photographs with a short side of at least 300 px (not the synthetic,
# scanned-text, microscopy or tiny ones; motorcycle_right is left out: a stereo twin of _left).
SAMPLE_IMAGES = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "moon.png",
    "motorcycle_left.png",
    "rocket.jpg",
)
CHAINED_URL_SEPARATOR = "::"


def iter_source(
    source: str,
    storage_options: dict | None = None,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
) -> Iterator[SourceItem]:
    """The inputs of SOURCE one at a time, in the documented order; SourceError if missing or empty.

    image_column/label_column name the parquet columns (detected when None; see parquet).
    """
    count = 0
    try:
        for item in _items(source, storage_options, image_column, label_column):
            count += 1
            yield item
    except SourceError:
        raise
    except Exception as error:  # fsspec/s3fs/tarfile/pyarrow raise many types; report them all as data
        raise SourceError(f"{source}: cannot list ({type(error).__name__}: {error})") from error
    if count == 0:
        raise SourceError(f"{source}: no images found")


def list_source(
    source: str,
    storage_options: dict | None = None,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
) -> list[SourceItem]:
    """All inputs of SOURCE as a list: list(iter_source(...)), with the cyclic GC paused meanwhile.

    Holding 1.28 M new objects makes the collector rescan them again and again (about 40 % of the
    listing time, benchmarks/source_listing.py); items hold no cycles, so nothing is lost by waiting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(iter_source(source, storage_options, image_column=image_column, label_column=label_column))
    finally:
        if was_enabled:
            gc.enable()


def read_bytes(
    item: SourceItem, storage_options: dict | None = None, max_bytes: int = DEFAULT_MAX_INPUT_BYTES
) -> bytes:
    """The bytes of one input: a whole file, a byte range of an archive, or a parquet cell.

    Never more than ``max_bytes``: a larger input (or an endless one, /dev/zero) is read only up to the
    cap and refused; a device, FIFO or socket is refused without being opened (a FIFO would block)."""
    if item.error is not None:
        raise SourceError(item.error)
    too_large = (
        f"{item.name}: larger than the input limit of {max_bytes / 2**20:g} MB: left out "
        "(raise --max-input-mb to use it)"
    )
    try:
        if item.row_group >= 0:
            return read_parquet_image(item, storage_options)
        fs, path = filesystem(item.uri, storage_options)
        if item.offset < 0:
            if isinstance(fs, LocalFileSystem) and not stat.S_ISREG(os.stat(path).st_mode):
                raise SourceError(f"{item.name}: not a regular file (a device, FIFO or socket): left out")
            with fs.open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise SourceError(too_large)
            return data
        if item.size > max_bytes:
            raise SourceError(too_large)
        data = fs.cat_file(path, start=item.offset, end=item.offset + item.size)
        if len(data) != item.size:
            raise SourceError(f"{item.name}: the archive ends after {len(data)} of the member's {item.size} bytes")
        return data
    except SourceError:
        raise
    except Exception as error:
        raise SourceError(f"{item.name}: cannot read ({type(error).__name__}: {error})") from error


def _items(
    source: str, storage_options: dict | None, image_column: str | None, label_column: str | None
) -> Iterator[SourceItem]:
    if source == SAMPLE_SOURCE:
        yield from _sample_items()
        return
    if CHAINED_URL_SEPARATOR in source:
        raise SourceError(f"{source}: a source may not contain '{CHAINED_URL_SEPARATOR}'")
    columns = {"image_column": image_column, "label_column": label_column}
    if is_pattern(source):
        yield from _file_set(source, expand_pattern(source, storage_options), storage_options, columns)
        return
    fs, path = filesystem(source, storage_options)
    fs.invalidate_cache(path)
    if fs.isdir(path):
        top = [(str(entry["name"]), entry["type"]) for entry in fs.ls(path, detail=True)]
        files = sorted(name for name, kind in top if kind == "file" and not is_hidden(posixpath.basename(name)))
        folders = [name for name, kind in top if kind == "directory" and not is_hidden(posixpath.basename(name))]
        if not folders and not any(has_image_extension(name) for name in files):
            for is_kind, reader in ((is_tar_name, _webdataset), (is_parquet_name, _parquet)):
                if any(is_kind(name) for name in files):
                    yield from reader([full_uri(fs, name) for name in files if is_kind(name)], storage_options, columns)
                    return
        yield from _folder_items(fs, path)
    elif not fs.isfile(path):
        raise SourceError(f"{source}: no such file or folder")
    elif path.lower().endswith(".txt"):
        uris = _text_list(fs, path)
        if uris and (all(is_tar_name(uri) for uri, _ in uris) or all(is_parquet_name(uri) for uri, _ in uris)):
            yield from _file_set(source, [uri for uri, _ in uris], storage_options, columns)
        else:
            yield from sorted((SourceItem(line, uri) for uri, line in uris), key=lambda item: (item.key_hint, item.uri))
    elif is_tar_name(path):
        uri = full_uri(fs, path)
        yield from (iter_nested_tar if first_member_is_tar(fs, path, uri) else iter_plain_tar)(fs, path, uri)
    elif is_parquet_name(path):
        yield from iter_parquet([full_uri(fs, path)], storage_options, image_column, label_column)
    elif has_image_extension(path):
        yield SourceItem(posixpath.basename(path), full_uri(fs, path))
    else:
        raise SourceError(
            f"{source}: unsupported source type (expected '{SAMPLE_SOURCE}', a folder, a .txt list, "
            "a .tar archive, a .parquet file, a pattern of .tar shards or .parquet files, or an image file)"
        )


def _webdataset(uris: list[str], storage_options: dict | None, columns: dict) -> Iterator[SourceItem]:
    return iter_webdataset(uris, storage_options)


def _parquet(uris: list[str], storage_options: dict | None, columns: dict) -> Iterator[SourceItem]:
    return iter_parquet(uris, storage_options, **columns)


def _file_set(source: str, uris: list[str], storage_options: dict | None, columns: dict) -> Iterator[SourceItem]:
    if all(is_tar_name(uri) for uri in uris):
        return _webdataset(uris, storage_options, columns)
    if all(is_parquet_name(uri) for uri in uris):
        return _parquet(uris, storage_options, columns)
    odd = next((uri for uri in uris if not is_tar_name(uri) and not is_parquet_name(uri)), None)
    found = odd or f"a mix of .tar and .parquet ({uris[0]}, ...)"
    raise SourceError(f"{source}: a pattern names only .tar shards or only .parquet files, not {found}")


def _sample_items() -> Iterator[SourceItem]:
    import skimage  # light: scikit-image loads its submodules lazily

    paths = [os.path.join(skimage.data_dir, name) for name in SAMPLE_IMAGES]
    items = [SourceItem(os.path.basename(path), path) for path in paths if os.path.isfile(path)]
    if not items:
        raise SourceError(f"{SAMPLE_SOURCE}: none of {SAMPLE_IMAGES} in {skimage.data_dir}")
    yield from items


def _folder_items(fs: AbstractFileSystem, root: str) -> Iterator[SourceItem]:
    """Image files of a tree in sorted order of their relative path (streamed from disk when local)."""
    root = root.rstrip("/")
    paths = (
        _walk_sorted(root)
        if isinstance(fs, LocalFileSystem)
        else ((path, path[len(root) :].lstrip("/")) for path in fs.find(root))
    )
    for path, relative in paths:
        if has_image_extension(relative) and not is_hidden(relative):
            label = label_of_path(relative)
            yield SourceItem(relative, full_uri(fs, path), label=sys.intern(label) if label else None)


def _walk_sorted(root: str, relative: str = "") -> Iterator[tuple[str, str]]:
    """(path, relative path) of every file under root, in sorted order of the relative path:
    a folder sorts as its name plus '/', which is where its files fall among its siblings."""
    folder = os.path.join(root, relative) if relative else root
    with os.scandir(folder) as scan:
        entries = sorted((entry.name + "/" if entry.is_dir() else entry.name, entry.is_dir()) for entry in scan)
    for name, is_dir in entries:
        if name.startswith("."):
            continue
        child = f"{relative}{name}"
        if is_dir:
            yield from _walk_sorted(root, child)
        else:
            yield os.path.join(root, child), child


def _text_list(fs: AbstractFileSystem, path: str) -> list[tuple[str, str]]:
    """(uri, line as written) of each entry; relative lines resolved against the list's folder; repeats once."""
    try:
        text = fs.cat_file(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"{full_uri(fs, path)}: list is not UTF-8 text ({error})") from error
    folder = posixpath.dirname(path)
    by_uri: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        uri = (
            line
            if "://" in line or os.path.isabs(line)
            else full_uri(fs, posixpath.normpath(posixpath.join(folder, line)))
        )
        by_uri.setdefault(uri, line)  # the same file twice is listed once
    return list(by_uri.items())
