"""Small real archives for the source tests: 64x64 crops of scikit-image photographs written as a
class-folder tree, the official ImageNet nested tar, WebDataset shards and Hugging Face parquet.

Every writer takes the same {relative path: bytes} images, so each kind can be checked against the
folder tree. Two classes, named like ImageNet synsets: n02123045 (cat) and n03063599 (mug).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import skimage.data
from PIL import Image

from pipeline.config import FactoryConfig
from pipeline.shard_job import make_base_shard, make_codec_shard
from pipeline.sources import SourceItem
from tests.pipeline.factory_helpers import file_hashes

CROP = 64
CROPS = [  # (relative path, photograph, top, left, format)
    ("n02123045/chelsea_0.JPEG", "chelsea", 40, 120, "JPEG"),
    ("n02123045/chelsea_1.JPEG", "chelsea", 150, 200, "JPEG"),
    ("n02123045/chelsea_2.png", "chelsea", 230, 300, "PNG"),
    ("n03063599/coffee_0.JPEG", "coffee", 100, 150, "JPEG"),
    ("n03063599/coffee_1.JPEG", "coffee", 200, 300, "JPEG"),
    ("n03063599/coffee_2.png", "coffee", 50, 400, "PNG"),
]


def tiny_images() -> dict[str, bytes]:
    """{class/name: encoded bytes} of the six 64x64 crops (deterministic for one Pillow version)."""
    images = {}
    for relative, photograph, top, left, image_format in CROPS:
        pixels = np.ascontiguousarray(getattr(skimage.data, photograph)()[top : top + CROP, left : left + CROP])
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
        images[relative] = buffer.getvalue()
    return images


def write_folder(root: Path, images: dict[str, bytes], flat: bool = False) -> Path:
    """The images as files under root (`flat`: file names only, no class folders)."""
    for relative, data in images.items():
        path = root / (relative.rsplit("/", 1)[-1] if flat else relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def class_tars(images: dict[str, bytes]) -> dict[str, bytes]:
    """{n02123045.tar: tar of that class's images (stored in reverse order, plus a non-image member)}."""
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    for relative, data in images.items():
        label, name = relative.split("/")
        by_class.setdefault(label, []).append((name, data))
    return {
        f"{label}.tar": tar_bytes([*reversed(members), ("synset.txt", label.encode())])
        for label, members in by_class.items()
    }


def write_nested_tar(path: Path, inner: dict[str, bytes]) -> Path:
    """The official layout: a tar whose members are class tars (outer order reversed, a README first)."""
    path.write_bytes(tar_bytes([("README.txt", b"not a class"), *reversed(list(inner.items()))]))
    return path


def wds_shards(images: dict[str, bytes], per_shard: int = 2) -> list[bytes]:
    """WebDataset shards in sorted key order: <key>.<ext> image, <key>.cls (class index), <key>.json."""
    names = sorted(images, key=lambda relative: relative.rsplit("/", 1)[-1])
    labels = sorted({relative.split("/")[0] for relative in images})
    shards = []
    for start in range(0, len(names), per_shard):
        members = []
        for relative in names[start : start + per_shard]:
            label, name = relative.split("/")
            key, extension = name.split(".")
            members += [
                (f"{key}.cls", str(labels.index(label)).encode()),
                (f"{key}.{extension}", images[relative]),
                (f"{key}.json", f'{{"synset": "{label}"}}'.encode()),
            ]
        shards.append(tar_bytes(members))
    return shards


def write_parquet(path: Path, images: dict[str, bytes], row_group_size: int = 2, label_type: str = "string") -> Path:
    """Hugging Face's layout: image = struct {bytes, path}, label column; rows in sorted path order."""
    names = sorted(images)
    labels = [name.split("/")[0] for name in names]
    if label_type == "int":
        labels = [sorted(set(labels)).index(label) for label in labels]
    table = pa.table(
        {
            "image": pa.array(
                [{"bytes": images[name], "path": name} for name in names],
                type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
            "label": labels,
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def run_factory_shards(items: list[SourceItem], out: Path, shard_size: int = 4) -> dict[str, str]:
    """Base + x264 shards (QP 30 and 40, 64x64) of the items, made by the shard jobs; sha256 of every file."""
    config = FactoryConfig(
        source="(listed by the test)", out=str(out), codecs=("x264",), qps=(30, 40), size=CROP, shard_size=shard_size
    )
    for index, start in enumerate(range(0, len(items), shard_size)):
        make_base_shard(config, index, items[start : start + shard_size], "base-hash")
        make_codec_shard(config, index, "x264", "x264-hash")
    return file_hashes(out, ("base", "x264", "manifest", "failures"))
