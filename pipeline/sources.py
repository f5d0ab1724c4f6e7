"""List the input images of a factory run and read their bytes.

A SOURCE is one of:
  "sample"          the natural photographs shipped in scikit-image's data folder;
  a folder          any tree of images (ImageNet class folders included), searched recursively;
  a .txt file       one path or URI per line; blank lines and lines starting with '#' are skipped;
                    relative paths are relative to the text file (also on s3);
  a .tar archive    its image members, each read later by byte range (plain tar, not compressed);
  an image file     that image alone;
each of them local or on any fsspec location (s3://bucket/prefix, ...). Folder and tar listings keep
only names with an image extension (case-insensitive) and skip hidden names (a part starting with '.');
whether a file really decodes is found out later, by decode_image. Text-file lines are taken as given.

Tar members get the fsspec chained URL `tar://<member>::<archive uri>`, which `fsspec.open` reads
too. Credentials are never part of a URI: s3 takes them from the environment / fsspec config or from
`storage_options` (passed to fsspec for non-local locations only).
"""
from __future__ import annotations

import functools
import os
import posixpath
import tarfile
from dataclasses import dataclass

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem

from pipeline.errors import SourceError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
SAMPLE_SOURCE = "sample"
# scikit-image's natural photographs with a short side of at least 300 px (not the synthetic,
# scanned-text, microscopy or tiny ones; motorcycle_right is left out: a stereo twin of _left).
SAMPLE_IMAGES = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
    "grass.png", "gravel.png", "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png",
    "rocket.jpg",
)
TAR_SCHEME = "tar://"
TAR_SEPARATOR = "::"


@dataclass(frozen=True)
class SourceItem:
    """One input: `key_hint` names it (path relative to the source, tar member or sample name)."""

    key_hint: str
    uri: str


def has_image_extension(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def tar_member_uri(member: str, archive_uri: str) -> str:
    return f"{TAR_SCHEME}{member}{TAR_SEPARATOR}{archive_uri}"


def split_tar_member_uri(uri: str) -> tuple[str, str]:
    """`tar://<member>::<archive uri>` -> (member, archive uri); the archive uri holds no '::'."""
    member, separator, archive_uri = uri[len(TAR_SCHEME):].rpartition(TAR_SEPARATOR)
    if not uri.startswith(TAR_SCHEME) or not separator or not member or not archive_uri:
        raise SourceError(f"{uri}: not a tar member URI (expected tar://<member>::<archive>)")
    return member, archive_uri


def list_source(source: str, storage_options: dict | None = None) -> list[SourceItem]:
    """All inputs of SOURCE, sorted by key_hint (then uri); SourceError if missing or empty."""
    if source == SAMPLE_SOURCE:
        return _list_sample()
    if TAR_SEPARATOR in source:
        raise SourceError(f"{source}: a source may not contain '{TAR_SEPARATOR}'")
    fs, path = _filesystem(source, storage_options)
    try:
        fs.invalidate_cache(path)
        if fs.isdir(path):
            items = _list_folder(fs, path)
        elif not fs.isfile(path):
            raise SourceError(f"{source}: no such file or folder")
        elif path.lower().endswith(".txt"):
            items = _list_text(fs, path)
        elif path.lower().endswith(".tar"):
            archive_uri = _uri(fs, path)
            members = _read_tar_index(fs, path)  # fresh: a listing starts a run
            items = [SourceItem(name, tar_member_uri(name, archive_uri)) for name in members]
        elif has_image_extension(path):
            items = [SourceItem(posixpath.basename(path), _uri(fs, path))]
        else:
            raise SourceError(f"{source}: unsupported source type (expected '{SAMPLE_SOURCE}', "
                              "a folder, a .txt list, a .tar archive or an image file)")
    except SourceError:
        raise
    except Exception as error:  # fsspec/s3fs/tarfile raise many types; report them all as data
        raise SourceError(f"{source}: cannot list ({type(error).__name__}: {error})") from error
    if not items:
        raise SourceError(f"{source}: no images found")
    return sorted(items, key=lambda item: (item.key_hint, item.uri))


def read_bytes(item: SourceItem, storage_options: dict | None = None) -> bytes:
    """The bytes behind `item.uri` (a tar member is read as one byte range of its archive)."""
    try:
        if item.uri.startswith(TAR_SCHEME):
            member, archive_uri = split_tar_member_uri(item.uri)
            fs, path = _filesystem(archive_uri, storage_options)
            members = _tar_members(fs, path)
            if member not in members:
                raise SourceError(f"{item.uri}: archive {archive_uri} has no member {member!r}")
            offset, size = members[member]
            return fs.cat_file(path, start=offset, end=offset + size)
        fs, path = _filesystem(item.uri, storage_options)
        return fs.cat_file(path)
    except SourceError:
        raise
    except Exception as error:
        raise SourceError(f"{item.uri}: cannot read ({type(error).__name__}: {error})") from error


def _filesystem(uri: str, storage_options: dict | None) -> tuple[AbstractFileSystem, str]:
    options = {} if fsspec.utils.get_protocol(uri) == "file" else dict(storage_options or {})
    try:
        return fsspec.core.url_to_fs(uri, **options)
    except Exception as error:
        raise SourceError(f"{uri}: cannot open location ({type(error).__name__}: {error})") from error


def _uri(fs: AbstractFileSystem, path: str) -> str:
    """Local files keep a plain absolute path; anything else gets its protocol back."""
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _is_hidden(relative_path: str) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative_path.split("/"))


def _list_sample() -> list[SourceItem]:
    import skimage  # light: scikit-image loads its submodules lazily

    paths = [os.path.join(skimage.data_dir, name) for name in SAMPLE_IMAGES]
    items = [SourceItem(os.path.basename(path), path) for path in paths if os.path.isfile(path)]
    if not items:
        raise SourceError(f"{SAMPLE_SOURCE}: none of {SAMPLE_IMAGES} in {skimage.data_dir}")
    return items


def _list_folder(fs: AbstractFileSystem, root: str) -> list[SourceItem]:
    root = root.rstrip("/")
    items = []
    for path in fs.find(root):
        relative = path[len(root):].lstrip("/")
        if has_image_extension(relative) and not _is_hidden(relative):
            items.append(SourceItem(relative, _uri(fs, path)))
    return items


def _list_text(fs: AbstractFileSystem, path: str) -> list[SourceItem]:
    try:
        text = fs.cat_file(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"{_uri(fs, path)}: list is not UTF-8 text ({error})") from error
    folder = posixpath.dirname(path)
    by_uri: dict[str, SourceItem] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if "://" in line or os.path.isabs(line):
            uri = line
        else:
            uri = _uri(fs, posixpath.normpath(posixpath.join(folder, line)))
        by_uri.setdefault(uri, SourceItem(line, uri))  # the same file twice is listed once
    return list(by_uri.values())


@functools.lru_cache(maxsize=16)
def _tar_members(fs: AbstractFileSystem, path: str) -> dict[str, tuple[int, int]]:
    """The index of an archive, read once per process: archives must not change during a run."""
    return _read_tar_index(fs, path)


def _read_tar_index(fs: AbstractFileSystem, path: str) -> dict[str, tuple[int, int]]:
    """{member name: (data offset, size)} of the image members (tarfile seeks past the data)."""
    with fs.open(path, "rb") as handle, tarfile.open(fileobj=handle, mode="r:") as archive:
        return {
            member.name: (member.offset_data, member.size)
            for member in archive
            if member.isfile() and has_image_extension(member.name) and not _is_hidden(member.name)
        }
