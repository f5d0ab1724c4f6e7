"""Tars of images and the official ImageNet layout, a tar of class tars (ILSVRC2012_img_train.tar:
n01440764.tar, ... each holding that class's JPEGs), listed from headers and read by byte range.

A nested tar is one whose first member that is a tar or an image is a tar.
Nested tar: an item per image member of each class tar, key_hint `<class>/<member>` and label
`<class>` (the class tar's name without .tar), exactly what the same images extracted into class
folders give. Order: class tars sorted by `<class>/`, members sorted within each: the sorted order of
the key_hints (one class's index is held at a time). Non-tar members of the outer archive are ignored.
A corrupt or truncated class tar keeps its readable members and adds one item, key_hint
`<class>/`, that fails when read (a failure row naming the archive and the class tar); a corrupt
outer archive stops the listing with an error naming the byte.

Cost: a tar has no index, so listing visits every header. Locally that is seeks (15-20 s for the
1.28 M members of a synthetic official-layout tar on a busy 2-core machine, benchmarks/source_listing.py);
on an object store the archive is read through once in the filesystem's large blocks (s3fs: 50 MiB
readahead), never a request per image. Reading an item afterwards is one ranged read.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterator
from typing import BinaryIO

from fsspec.spec import AbstractFileSystem

from pipeline.errors import SourceError
from pipeline.sources.item import SourceItem, has_image_extension, is_hidden, label_of_path
from pipeline.sources.tar_index import ByteWindow, TarDamaged, TarEntry, iter_tar_entries

TAR_EXTENSION = ".tar"


def is_tar_name(name: str) -> bool:
    return name.lower().endswith(TAR_EXTENSION)


def normalised(name: str) -> str:
    """A member path without leading './' (tar -C dir . writes them)."""
    while name.startswith("./"):
        name = name[2:]
    return name


def first_member_is_tar(fs: AbstractFileSystem, path: str, archive_uri: str) -> bool:
    """Whether the archive's first member that is a tar or an image is a tar (the nested layout)."""
    with fs.open(path, "rb") as handle:
        for entry in iter_tar_entries(handle, fs.size(path), archive_uri):
            if not entry.link and (is_tar_name(entry.name) or has_image_extension(entry.name)):
                return is_tar_name(entry.name)
    return False


def iter_plain_tar(fs: AbstractFileSystem, path: str, archive_uri: str) -> Iterator[SourceItem]:
    """Image members of a tar of images, sorted by member name (label: the member's top folder)."""
    members: dict[str, SourceItem] = {}  # the items themselves: the listing is held once
    damage = None
    with fs.open(path, "rb") as handle:
        try:
            for entry in iter_tar_entries(handle, fs.size(path), archive_uri):
                if has_image_extension(entry.name) and not is_hidden(entry.name):
                    label = label_of_path(normalised(entry.name))
                    members[entry.name] = SourceItem(
                        entry.name,
                        archive_uri,
                        member=entry.name,
                        offset=entry.offset,
                        size=entry.size,
                        label=sys.intern(label) if label else None,
                        error=link_error(archive_uri, entry),
                    )
        except TarDamaged as error:  # a name stored twice: the later copy wins above, as extraction does
            if not members:
                raise
            damage = str(error)
    for name in sorted(members):
        yield members[name]
    if damage:
        yield SourceItem(posixpath.basename(path), archive_uri, member="(rest of the archive)", error=damage)


def iter_nested_tar(fs: AbstractFileSystem, path: str, archive_uri: str) -> Iterator[SourceItem]:
    """Image members of every class tar of the archive, by byte range of the outer file."""
    length = fs.size(path)
    with fs.open(path, "rb") as handle:
        try:
            class_tars = [
                entry
                for entry in iter_tar_entries(handle, length, archive_uri)
                if is_tar_name(entry.name) and not is_hidden(entry.name)
            ]
        except TarDamaged as error:
            raise SourceError(f"{error}; the outer archive of a nested tar must be readable to list it") from error
        class_tars.sort(key=lambda entry: _class_prefix(entry.name))
        for class_tar in class_tars:
            yield from _class_items(handle, class_tar, archive_uri)


def link_error(archive: str, entry: TarEntry) -> str | None:
    """A link member is a failure row naming it (extracting would follow it out of the archive)."""
    return f"{archive} [{entry.name}]: a {entry.link}: links in archives are not followed" if entry.link else None


def _class_prefix(class_tar_name: str) -> str:
    return normalised(class_tar_name)[: -len(TAR_EXTENSION)] + "/"


def _class_items(handle: BinaryIO, class_tar: TarEntry, archive_uri: str) -> Iterator[SourceItem]:
    prefix = _class_prefix(class_tar.name)
    label = sys.intern(posixpath.basename(prefix[:-1]))
    members: dict[str, TarEntry] = {}
    window = ByteWindow(handle, class_tar.offset, class_tar.size)
    try:
        for entry in iter_tar_entries(window, class_tar.size, f"{archive_uri} [{class_tar.name}]"):
            name = normalised(entry.name)
            if has_image_extension(name) and not is_hidden(name) and not (entry.link and is_tar_name(name)):
                members[name] = entry
    except TarDamaged as damage:
        yield SourceItem(prefix, archive_uri, member=class_tar.name, label=label, error=str(damage))
    for name in sorted(members):
        entry = members[name]
        yield SourceItem(
            prefix + name,
            archive_uri,
            member=f"{class_tar.name}/{entry.name}",
            offset=class_tar.offset + entry.offset,
            size=entry.size,
            label=label,
            error=link_error(f"{archive_uri} [{class_tar.name}]", entry),
        )
