"""WebDataset shards as a source: each sample's image member is one input, read by byte range.

A sample is a run of consecutive members sharing a key (WebDataset's rule: the member path up to the
first '.' of its file name; `n01440764_10026.jpg` + `n01440764_10026.cls`). Its image is the first of
the suffixes jpg, jpeg, png, webp it has (a sample without one is not an input); key_hint is that
member's path, so the same files in a folder give the same key_hints. Its cls/txt/json members
(UTF-8, up to 64 KiB each) are read while listing, from the headers' offsets, and carried with the
WebDataset key as `fields` (compact JSON); cls is also the label. Order: the shards in the order
given, samples in stored order. A damaged shard keeps the samples before the damage and adds an item
named after the shard that fails when read.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pipeline.sources.item import SourceItem, filesystem, full_uri
from pipeline.sources.nested_tar import normalised
from pipeline.sources.tar_index import TarDamaged, TarEntry, iter_tar_entries

IMAGE_SUFFIXES = ("jpg", "jpeg", "png", "webp")
CARRIED_SUFFIXES = ("cls", "txt", "json")
MAX_CARRIED_BYTES = 64 * 1024


def split_sample_name(name: str) -> tuple[str, str]:
    """'train/n01440764_10026.jpg' -> ('train/n01440764_10026', 'jpg'); suffix '' when there is no dot."""
    folder, base = posixpath.split(name)
    stem, _, suffix = base.partition(".")
    return (posixpath.join(folder, stem) if folder else stem), suffix


def iter_webdataset(shard_uris: Iterable[str], storage_options: dict | None) -> Iterator[SourceItem]:
    for uri in shard_uris:
        fs, path = filesystem(uri, storage_options)
        shard_uri = full_uri(fs, path)
        length = fs.size(path)
        with fs.open(path, "rb") as handle:
            yield from _shard_items(handle, length, shard_uri)


def _shard_items(handle: BinaryIO, length: int, shard_uri: str) -> Iterator[SourceItem]:
    sample_key, members = None, {}
    try:
        for entry in iter_tar_entries(handle, length, shard_uri):
            if entry.link:
                continue  # a WebDataset member is data, never a link
            key, suffix = split_sample_name(normalised(entry.name))
            if posixpath.basename(key).startswith(".") or not suffix:
                continue
            if key != sample_key:
                item = _sample_item(handle, shard_uri, sample_key, members)
                if item is not None:
                    yield item
                sample_key, members = key, {}
            members[suffix.lower()] = entry
    except TarDamaged as damage:
        members = {}  # the sample the damage cut may be incomplete: it goes with the failure
        yield SourceItem(posixpath.basename(shard_uri), shard_uri, member="(rest of the shard)", error=str(damage))
    item = _sample_item(handle, shard_uri, sample_key, members)
    if item is not None:
        yield item


def _sample_item(handle: BinaryIO, shard_uri: str, key: str | None, members: dict[str, TarEntry]) -> SourceItem | None:
    image_suffix = next((suffix for suffix in IMAGE_SUFFIXES if suffix in members), None)
    if key is None or image_suffix is None:
        return None
    image = members[image_suffix]
    carried = {"key": key}
    for suffix in CARRIED_SUFFIXES:
        entry = members.get(suffix)
        if entry is not None and entry.size <= MAX_CARRIED_BYTES:
            handle.seek(entry.offset)
            carried[suffix] = handle.read(entry.size).decode("utf-8", errors="replace")
    label = carried["cls"].strip() if "cls" in carried else None
    key_hint = normalised(image.name)
    return SourceItem(
        key_hint,
        shard_uri,
        member=image.name,
        offset=image.offset,
        size=image.size,
        label=label or None,
        fields=json.dumps(carried, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )
