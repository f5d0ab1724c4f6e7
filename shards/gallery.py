"""vrpsr shards show: one self-contained HTML page to look at a dataset's pictures.

Per sample: the clean target, the SR input (lq, shown at the clean picture's size), and every coded
picture of every codec (or the chosen codecs / QPs) decoded, with its bpp and PSNR under it; under each
picture a zoomed crop of the same detailed region, always at the picture's own pixels. Whole pictures
wider than MAX_SHOWN_WIDTH are stored at that width (area-averaged: 16x fewer bytes for 512-px
datasets) unless ``full_size``; the crops are where codec artefacts are judged. Then the dataset's RD plot and summary table
(shards/stats.py). Reads only the shards holding the chosen samples; works on local and s3:// roots.
Imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from codec_bindings import decode
from shards import html_page
from shards.codec_meta import CodecMeta, CodedPicture, parse_codec_meta
from shards.dataset_info import require_dataset_info
from shards.errors import ShardError
from shards.layout import (
    BASE_GROUP,
    CLEAN_PICTURE,
    CLEAN_SUFFIX,
    CODEC_GROUPS,
    META_SUFFIX,
    bitstream_suffix,
    lq_suffix,
    lq_variant_count,
    shard_path,
)
from shards.manifest import read_group
from shards.png import decode_png
from shards.stats import PERCENTILES, DatasetStats, dataset_stats, rd_plot_png
from shards.storage import Storage
from shards.tar_format import Sample, read_tar

MAX_SHOWN_WIDTH = 256  # CSS px a picture is shown at (larger datasets are scaled down on screen only)


@dataclass(frozen=True)
class GalleryRequest:
    root: str
    keys: tuple[str, ...] | None = None  # None: the first `limit` samples
    limit: int = 4
    codecs: tuple[str, ...] | None = None  # None: every codec group of the dataset
    qps: tuple[int, ...] | None = None  # None: every QP (and CRF point) of the grid
    zoom: int = 4  # the crop is 1/zoom of the picture's side, shown zoom times larger
    full_size: bool = False  # store whole pictures at their own size (large pages for 512-px datasets)


@dataclass(frozen=True)
class GalleryPage:
    html: str
    samples: int
    pictures: int  # <img> elements on the page


def build_gallery(request: GalleryRequest, storage_options: dict | None = None) -> GalleryPage:
    storage = Storage(request.root, storage_options)
    info = require_dataset_info(storage)
    codecs = _chosen_codecs(info, request.codecs, storage.root)
    _check_qps(info, codecs, request.qps, storage.root)
    shards_by_key = {row["key"]: row for row in read_group(storage, BASE_GROUP).to_pylist()}
    keys = _chosen_keys(list(shards_by_key), request, storage.root)
    size, scale = int(info["size"]), int(info["scale"])
    crop = max(scale, size // max(1, request.zoom) // scale * scale)
    shown = min(size, MAX_SHOWN_WIDTH)
    stored = size if request.full_size else shown
    body = [
        f"<h1>{html_page.text(storage.root)}</h1>",
        f'<p class="note">{len(shards_by_key)} samples, {size}&#215;{size} clean targets, SR input '
        f"1/{scale} size, codecs {html_page.text(', '.join(codecs) or 'none')}. Under every picture: the "
        f"{crop}&#215;{crop} region with the most detail, zoomed, at the picture's own pixels"
        f"{'' if stored == size else f' (whole pictures are stored {stored} px wide: --full-size keeps them)'}. "
        "PSNR of a coded clean picture is against the clean target; of a coded SR input, against that input "
        "upsampled.</p>",
    ]
    pictures, shards_read = 0, {}
    for key in keys:
        index = int(shards_by_key[key]["shard"])
        if index not in shards_read:
            shards_read = {index: _read_shard_index(storage, index, codecs)}  # keys are grouped by shard
        section, count = _sample_section(
            key, shards_by_key[key], shards_read[index], codecs, request.qps, (crop, scale, stored)
        )
        body.append(section)
        pictures += count
    stats = dataset_stats(request.root, storage_options)
    body += _summary_section(stats)
    pictures += 1
    return GalleryPage(html_page.page(f"vrpsr dataset {storage.root}", body, shown), len(keys), pictures)


def _chosen_codecs(info: dict, wanted: Sequence[str] | None, root: str) -> list[str]:
    present = [group for group in CODEC_GROUPS if group in info["groups"]]
    unknown = sorted(set(wanted or ()) - set(present))
    if unknown:
        raise ShardError(f"{root}: no codec group {', '.join(unknown)}; this dataset has {', '.join(present)}")
    return [group for group in present if wanted is None or group in wanted]


def _check_qps(info: dict, codecs: list[str], wanted: Sequence[int] | None, root: str) -> None:
    coded = sorted({int(qp) for codec in codecs for qp in info["groups"][codec].get("qps", ())})
    missing = sorted(set(wanted or ()) - set(coded))
    if missing:
        grid = ",".join(str(qp) for qp in coded)
        raise ShardError(f"{root}: QP {', '.join(map(str, missing))} not in the dataset's grid ({grid}); pick from it")


def _chosen_keys(available: list[str], request: GalleryRequest, root: str) -> list[str]:
    if request.keys is None:
        return available[: max(0, request.limit)]
    unknown = [key for key in request.keys if key not in set(available)]
    if unknown:
        raise ShardError(
            f"{root}: no sample {', '.join(unknown)}; keys look like {', '.join(available[:3])} "
            "(the base manifest lists them all)"
        )
    order = {key: position for position, key in enumerate(available)}
    return sorted(dict.fromkeys(request.keys), key=order.__getitem__)[: max(0, request.limit)]


def _read_shard_index(storage: Storage, index: int, codecs: list[str]) -> dict[str, dict[str, dict[str, bytes]]]:
    """group -> key -> {suffix: bytes} for the base group and every chosen codec group of one shard index."""
    groups = {}
    for group in (BASE_GROUP, *codecs):
        relative = shard_path(group, index)
        samples: list[Sample] = read_tar(storage.read_bytes(relative), storage.url(relative))
        groups[group] = dict(samples)
    return groups


def _sample_section(
    key: str,
    row: dict,
    shard: dict[str, dict[str, dict[str, bytes]]],
    codecs: list[str],
    qps: Sequence[int] | None,
    geometry: tuple[int, int, int],
) -> tuple[str, int]:
    """The sample's pictures; ``geometry``: (crop side, scale, stored width of whole pictures)."""
    crop, scale, stored = geometry
    members = shard[BASE_GROUP][key]
    clean = decode_png(members[CLEAN_SUFFIX], f"{key}.{CLEAN_SUFFIX}")
    top, left = detail_window(clean, crop, scale)
    label = f" · label {row['label']}" if row.get("label") else ""
    parts = [f"<h2>{html_page.text(key)}</h2>", f'<p class="note">{html_page.text(row["source"] + label)}</p>']
    base_cells = [
        _cell(clean, (top, left, crop), stored, f"{key} clean", ["clean target", f"{clean.shape[1]}×{clean.shape[0]}"])
    ]
    variants = lq_variant_count(members)  # more than one when made with --lq-variants K
    for variant in range(variants):
        lq = decode_png(members[lq_suffix(variant)], f"{key}.{lq_suffix(variant)}")
        title = "SR input (lq)" if variants == 1 else f"SR input (lq variant {variant})"
        window = (top // scale, left // scale, crop // scale)
        caption = [title, f"{lq.shape[1]}×{lq.shape[0]}, drawn at the clean scale"]
        base_cells.append(_cell(lq, window, stored, f"{key} {lq_suffix(variant)}", caption))
    parts.append(f'<div class="row">{"".join(base_cells)}</div>')
    count = 2 * len(base_cells)
    for codec in codecs:
        where = f"{codec} {key}"
        meta = parse_codec_meta(shard[codec][key][META_SUFFIX], where)
        for picture_kind, coded in _pictures_by_kind(meta, qps):
            title = "coded clean target" if picture_kind == CLEAN_PICTURE else "coded SR input (upsampled)"
            cells = []
            for picture in coded:
                decoded = decode(
                    shard[codec][key][bitstream_suffix(codec, picture.name)],
                    codec,
                    size=(meta.height, meta.width),
                    expected_sha256=picture.sha256,
                    matrix=meta.matrix,
                    value_range=meta.value_range,
                )
                point = f"QP {picture.qp}" if picture.crf is None else f"CRF {picture.crf:g}"
                caption = [f"{codec} {point}", f"{picture.bpp:.4f} bpp · {picture.psnr:.2f} dB"]
                cells.append(_cell(decoded, (top, left, crop), stored, f"{key} {codec} {picture.name}", caption))
                count += 2
            parts.append(f"<h3>{html_page.text(codec)}: {title}</h3>")
            parts.append(f'<div class="row">{"".join(cells)}</div>')
    return "".join(parts), count


def _pictures_by_kind(meta: CodecMeta, qps: Sequence[int] | None) -> list[tuple[str, list[CodedPicture]]]:
    """The coded pictures to show, grouped by what they code (clean first), each group by QP then CRF."""
    chosen = [p for p in meta.pictures.values() if qps is None or (p.crf is None and p.qp in set(qps))]
    groups: dict[str, list[CodedPicture]] = {}
    for picture in sorted(chosen, key=lambda p: (p.picture != CLEAN_PICTURE, p.crf is not None, p.crf or 0, p.qp or 0)):
        groups.setdefault(picture.picture, []).append(picture)
    return list(groups.items())


def _cell(rgb: np.ndarray, window: tuple[int, int, int], stored: int, alt: str, caption: list[str]) -> str:
    """The whole picture (at most ``stored`` px wide) over the zoomed crop ``window`` at its own pixels."""
    top, left, side = window
    zoomed = rgb[top : top + side, left : left + side]
    whole = rgb
    if rgb.shape[1] > stored:
        whole = cv2.resize(rgb, (stored, round(rgb.shape[0] * stored / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    return html_page.figure(
        [
            html_page.image_tag(html_page.png_bytes(whole), alt),
            html_page.image_tag(html_page.png_bytes(zoomed), f"{alt} (zoomed crop)", "zoom"),
        ],
        caption,
    )


def detail_window(rgb: np.ndarray, side: int, step: int) -> tuple[int, int]:
    """Top-left corner (multiples of ``step``) of the side×side window with the most gradient energy."""
    gray = rgb.astype(np.float64).mean(axis=2)
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    height, width = gray.shape
    stride = max(step, side // 4 // step * step)
    best, corner = -1.0, (0, 0)
    for top in range(0, height - side + 1, stride):
        for left in range(0, width - side + 1, stride):
            total = (
                integral[top + side, left + side]
                - integral[top, left + side]
                - integral[top + side, left]
                + integral[top, left]
            )
            if total > best:
                best, corner = total, (top, left)
    return corner


def _summary_section(stats: DatasetStats) -> list[str]:
    """The RD plot and the per codec / picture / point table of `vrpsr shards stats`."""
    p = "/".join(f"p{q}" for q in PERCENTILES)
    rows = [
        (
            point.codec,
            point.picture,
            f"{point.mode} {point.value:g}",
            point.count,
            f"{point.bpp_mean:.4f}",
            "/".join(f"{v:.3f}" for v in point.bpp_percentiles),
            f"{point.psnr_mean:.2f}",
            "/".join(f"{v:.2f}" for v in point.psnr_percentiles),
        )
        for point in stats.points
    ]
    header = ("codec", "picture", "point", "count", "bpp mean", f"bpp {p}", "PSNR mean", f"PSNR {p}")
    return [
        "<h2>Rate and quality over the whole dataset</h2>",
        f'<p class="note">{stats.samples} samples, {stats.failures} failed inputs, '
        f"{len(stats.failed_tasks)} failed shard tasks (vrpsr shards stats prints the same).</p>",
        '<div class="row">',
        html_page.image_tag(rd_plot_png(stats), "RD plot", "plot"),
        "</div>",
        html_page.table(header, rows),
    ]
