"""The loader's stages after the plan, each a plain function over plain data:

read_groups       the tars of the asked groups for one shard index -> {group: [(key, members)]}
zip_groups        -> [(key, {group: members})], same keys in the same order or a ShardError
(sample_condition in condition.py: codec, QP, and only the members an item needs)
decode_pictures   -> {clean, lq, codec_out, codec_out_slight} RGB uint8 arrays
random_crop       aligned crops: the lq crop is the clean crop divided by the scale
to_tensors        -> the item dict (ITEM_FIELDS)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import torch

from codec_bindings import PAPER_CODECS, decode
from shards.errors import ShardError
from shards.layout import shard_path
from shards.loader.condition import Selection, codec_onehot
from shards.png import decode_png
from shards.storage import Storage
from shards.tar_format import Sample, read_tar

# The item a loader yields (names from issue 4; training code reads these keys).
CLEAN, LQ, CODEC_OUT, CODEC_OUT_SLIGHT = "clean", "lq", "codec_out", "codec_out_slight"
CODEC_ONEHOT, BPP, BPP_SLIGHT, PROMPT, KEY = "codec_onehot", "bpp", "bpp_slight", "prompt", "key"
QP = "qp"  # the slice QP of codec_out (QP-conditioned simulators, Table 3 (b))
PICTURE_FIELDS = (CLEAN, LQ, CODEC_OUT, CODEC_OUT_SLIGHT)
ITEM_FIELDS = (*PICTURE_FIELDS, CODEC_ONEHOT, BPP, BPP_SLIGHT, QP, PROMPT, KEY)

Zipped = tuple[str, dict[str, dict[str, bytes]]]  # (key, {group: {suffix: bytes}})


def read_group_bytes(storage: Storage, group: str, index: int) -> bytes:
    return storage.read_bytes(shard_path(group, index))


def parse_groups(storage: Storage, index: int, raw: Mapping[str, bytes]) -> dict[str, list[Sample]]:
    """{group: tar bytes} of one shard index -> {group: samples}; ShardError names the unreadable shard."""
    return {group: read_tar(data, storage.url(shard_path(group, index))) for group, data in raw.items()}


def read_groups(storage: Storage, index: int, groups: Sequence[str]) -> dict[str, list[Sample]]:
    return parse_groups(storage, index, {group: read_group_bytes(storage, group, index) for group in groups})


def zip_groups(tables: Mapping[str, list[Sample]], shard: str) -> list[Zipped]:
    """Join the groups of one shard index by key; every group must hold the same keys in the same order."""
    groups = list(tables)
    if not groups:
        return []
    reference = [key for key, _ in tables[groups[0]]]
    for group in groups[1:]:
        keys = [key for key, _ in tables[group]]
        if keys != reference:
            first = next((i for i, (a, b) in enumerate(zip(reference, keys)) if a != b), min(len(reference), len(keys)))
            raise ShardError(
                f"{shard}: group {group} does not hold the keys of group {groups[0]} in the same order "
                f"({len(keys)} vs {len(reference)} samples, first difference at position {first})"
            )
    return [(key, {group: tables[group][position][1] for group in groups}) for position, key in enumerate(reference)]


def decode_pictures(selection: Selection) -> dict[str, np.ndarray]:
    """Decode the two PNGs and the two bitstreams of the condition (nothing else), checking sha256."""
    size = (selection.height, selection.width)
    colour = {"matrix": selection.matrix, "value_range": selection.value_range}
    pictures = {
        CLEAN: decode_png(selection.clean_png, f"{selection.key} clean"),
        LQ: decode_png(selection.lq_png, f"{selection.key} lq"),
        CODEC_OUT: decode(selection.bitstream, selection.codec, size=size, expected_sha256=selection.sha256, **colour),
        CODEC_OUT_SLIGHT: decode(
            selection.bitstream_slight, selection.codec, size=size, expected_sha256=selection.sha256_slight, **colour
        ),
    }
    if pictures[CLEAN].shape[:2] != size:
        raise ShardError(
            f"{selection.key}: clean picture is {pictures[CLEAN].shape[:2]}, the {selection.codec} meta says {size}"
        )
    return pictures


def scale_of(pictures: Mapping[str, np.ndarray], key: str) -> int:
    """The SR scale: clean size / lq size, the same integer on both axes."""
    (height, width), (lq_height, lq_width) = pictures[CLEAN].shape[:2], pictures[LQ].shape[:2]
    if height % lq_height or width % lq_width or height // lq_height != width // lq_width:
        raise ShardError(f"{key}: clean {width}x{height} is not an integer multiple of lq {lq_width}x{lq_height}")
    return height // lq_height


def random_crop(
    pictures: Mapping[str, np.ndarray], size: int | None, rng: np.random.Generator, key: str
) -> dict[str, np.ndarray]:
    """The same ``size``² window of clean and both codec outputs, and its (size / scale)² image in lq.

    The window's corner is a multiple of the scale so that it maps to whole lq pixels. None = no crop.
    """
    if size is None:
        return dict(pictures)
    scale = scale_of(pictures, key)
    height, width = pictures[CLEAN].shape[:2]
    if size % scale or size > height or size > width:
        raise ShardError(f"{key}: cannot take a {size}² crop of a {width}x{height} picture at scale {scale}")
    top = scale * int(rng.integers((height - size) // scale + 1))
    left = scale * int(rng.integers((width - size) // scale + 1))
    cropped = {
        name: pictures[name][top : top + size, left : left + size] for name in (CLEAN, CODEC_OUT, CODEC_OUT_SLIGHT)
    }
    lq_size = size // scale
    cropped[LQ] = pictures[LQ][top // scale : top // scale + lq_size, left // scale : left // scale + lq_size]
    return cropped


def to_tensors(
    pictures: Mapping[str, np.ndarray],
    selection: Selection,
    upsample_lq: bool = False,
    picture_dtype: torch.dtype = torch.float32,
    codec_names: tuple[str, ...] = PAPER_CODECS,
) -> dict:
    """The item: 3xHxW pictures (float32 in [0, 1], or uint8 in [0, 255] to be scaled on the GPU: a quarter
    of the bytes through the DataLoader's shared memory), the condition as one-hot + bpp + prompt, the key."""
    if picture_dtype not in (torch.float32, torch.uint8):
        raise ValueError(f"picture_dtype must be torch.float32 or torch.uint8, got {picture_dtype}")
    planar = _chw_float if picture_dtype == torch.float32 else _chw_uint8
    lq = pictures[LQ]
    if upsample_lq:
        height, width = pictures[CLEAN].shape[:2]
        lq = cv2.resize(lq, (width, height), interpolation=cv2.INTER_CUBIC)
    item = {name: planar(pictures[name]) for name in (CLEAN, CODEC_OUT, CODEC_OUT_SLIGHT)}
    item[LQ] = planar(lq)
    item[CODEC_ONEHOT] = torch.tensor(codec_onehot(selection.codec, codec_names), dtype=torch.float32)
    item[BPP] = torch.tensor(selection.bpp, dtype=torch.float32)
    item[BPP_SLIGHT] = torch.tensor(selection.bpp_slight, dtype=torch.float32)
    item[QP] = torch.tensor(selection.qp, dtype=torch.float32)
    item[PROMPT] = selection.prompt
    item[KEY] = selection.key
    return {name: item[name] for name in ITEM_FIELDS}


def _chw_uint8(image: np.ndarray) -> torch.Tensor:
    planar = np.empty((3, *image.shape[:2]), np.uint8)
    for channel, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
        planar[channel] = plane
    return torch.from_numpy(planar)


def _chw_float(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float32 / 255: the values of torch's .float().div(255), made with OpenCV and numpy
    (twice as fast, and without torch's intra-op threads, which fight the decoders for cores in-process)."""
    planar = np.empty((3, *image.shape[:2]), np.float32)
    for channel, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
        planar[channel] = plane
    np.divide(planar, np.float32(255.0), out=planar)
    return torch.from_numpy(planar)
