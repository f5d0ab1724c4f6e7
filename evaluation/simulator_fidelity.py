"""How well a simulator reproduces the real codec (the paper's Tables 3 and 4), for any picture function.

For every held-out picture (centre crop), codec and QP of the grid: encode with the real codec (its decoded
picture and true bpp), then run each simulator on the clean picture at the same condition (codec, bpp; a
QP-conditioned simulator, ``condition_input == "qp"``, gets the QP). Per row: fidelity metrics of the
simulator's output against the real codec's output (``psnr_rgb`` ...), and each metric of both outputs
against the clean picture (``real_*``, ``sim_*``, for Table 4's r²). The summary groups rows by simulator,
codec and bpp bucket (Table 3's layout) and adds FID between the simulator's and the real outputs.

Simulators are plug-ins ``f(picture, codec, bpp_or_qp) -> picture`` (RGB uint8); this module never imports
training (the CLI registers the trained loaders and the JPEG proxy).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from codec_bindings import encode
from evaluation.images import list_images
from evaluation.metrics import MetricSuite
from evaluation.models import checked_picture
from evaluation.r_squared import metric_r_squared
from pipeline.crop import center_crop_resized
from pipeline.decode_image import decode_image
from pipeline.sources import read_bytes
from shards.layout import BASE_GROUP, CLEAN_SUFFIX, DATASET_FILE
from shards.storage import Storage
from shards.tar_format import read_tar

PictureFunction = Callable[[np.ndarray, str, float], np.ndarray]
DEFAULT_BPP_EDGES = (0.1, 0.2, 0.4, 0.8)


@dataclass(frozen=True)
class FidelityConfig:
    """What `vrpsr eval simulator` measures."""

    data: str  # a vrpsr dataset root (its clean pictures) or any factory SOURCE (folder, .txt, .tar, image)
    codecs: tuple[str, ...] = ("x264", "x265", "vvenc")
    qps: tuple[int, ...] = (27, 32, 37, 42, 47)
    size: int = 256  # centre crop of each picture (short side resized to it first)
    limit: int | None = None
    bpp_edges: tuple[float, ...] = DEFAULT_BPP_EDGES  # bucket boundaries of the real bpp
    crop_images: int = 2  # crop sheets for the first N pictures
    crop_size: int = 96


@dataclass
class FidelityResult:
    config: FidelityConfig
    simulators: list[str]
    metrics: list[str]  # per-image metric names measured
    rows: list[dict]
    summary: list[dict]
    r2: list[dict]
    crops: list[dict] = field(default_factory=list)  # {"image", "codec", "qp", "pictures": {label: crop}}
    seconds: float = 0.0


def bpp_bucket(bpp: float, edges: Sequence[float]) -> str:
    """'<0.1', '0.1-0.2', ..., '>=0.8' for edges (0.1, 0.2, 0.4, 0.8)."""
    if bpp < edges[0]:
        return f"<{edges[0]:g}"
    for low, high in itertools.pairwise(edges):
        if bpp < high:
            return f"{low:g}-{high:g}"
    return f">={edges[-1]:g}"


def dataset_pictures(storage: Storage, limit: int | None) -> list[tuple[str, bytes]]:
    """(key, clean.png bytes) of a vrpsr dataset's base shards, from the last shard back (held out last)."""
    pictures: list[tuple[str, bytes]] = []
    for path in reversed([p for p in storage.list(BASE_GROUP) if p.endswith(".tar")]):
        for key, members in read_tar(storage.read_bytes(path), storage.url(path)):
            pictures.append((key, members[CLEAN_SUFFIX]))
            if limit is not None and len(pictures) == limit:
                return pictures
    return pictures


def held_out_pictures(config: FidelityConfig, storage_options: dict | None = None) -> list[tuple[str, np.ndarray]]:
    """(name, centre crop) of the first `limit` pictures of config.data: a vrpsr dataset root (its clean
    pictures, last shard first) or any factory SOURCE."""
    storage = Storage(config.data, storage_options)
    if storage.exists(DATASET_FILE):
        encoded = dataset_pictures(storage, config.limit)
    else:
        encoded = [
            (item.name, read_bytes(item, storage_options))
            for item in list_images(config.data, config.limit, storage_options)
        ]
    pictures = []
    for name, data in encoded:
        crop, _ = center_crop_resized(decode_image(data, name), config.size, name=name)
        pictures.append((PurePath(name).name, crop))
    if not pictures:
        raise ValueError(f"{config.data}: no pictures to evaluate")
    return pictures


def measure_pair(metrics: MetricSuite, simulated: np.ndarray, real: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """Fidelity (simulated vs real) and both against clean (real_*, sim_*)."""
    row = dict(metrics.measure(simulated, real))
    row.update({f"real_{k}": v for k, v in metrics.measure(real, clean).items()})
    row.update({f"sim_{k}": v for k, v in metrics.measure(simulated, clean).items()})
    return row


def simulator_fidelity(
    config: FidelityConfig,
    simulators: Mapping[str, PictureFunction],
    metrics: MetricSuite,
    storage_options: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> FidelityResult:
    """Run the study; `simulators` maps labels to picture functions (baselines included)."""
    started = time.perf_counter()
    rows, crops = [], []
    features: dict[tuple[str, str, str], list[np.ndarray]] = {}  # (simulator|"real", codec, bucket) -> features
    for number, (name, clean) in enumerate(held_out_pictures(config, storage_options)):
        for codec in config.codecs:
            for qp in config.qps:
                encoded = encode(clean, codec, qp=qp)
                real, bucket = encoded.recon, bpp_bucket(encoded.bpp, config.bpp_edges)
                outputs = {}
                for label, simulator in simulators.items():
                    value = float(qp) if getattr(simulator, "condition_input", "bpp") == "qp" else encoded.bpp
                    simulated = checked_picture(simulator(clean, codec, value), clean.shape, f"simulator {label}")
                    outputs[label] = simulated
                    rows.append(
                        {
                            "simulator": label,
                            "image": name,
                            "codec": codec,
                            "qp": qp,
                            "bpp": encoded.bpp,
                            "bucket": bucket,
                            **measure_pair(metrics, simulated, real, clean),
                        }
                    )
                if metrics.fid_features is not None:
                    for label, picture in [("real", real), *outputs.items()]:
                        features.setdefault((label, codec, bucket), []).append(metrics.fid_features(picture))
                if number < config.crop_images and qp == config.qps[len(config.qps) // 2]:
                    crops.append(
                        {
                            "image": name,
                            "codec": codec,
                            "qp": qp,
                            "bpp": encoded.bpp,
                            "pictures": centre_crops(
                                {"clean X": clean, "real codec": real, **outputs}, config.crop_size
                            ),
                        }
                    )
                if progress is not None:
                    progress(f"{name} {codec} qp {qp}: bpp {encoded.bpp:.3f}")
    labels, names = list(simulators), list(metrics.per_image)
    summary = summarize(rows, labels, names, features, config.bpp_edges)
    return FidelityResult(
        config,
        labels,
        names,
        rows,
        summary,
        metric_r_squared(rows, labels, names),
        crops,
        time.perf_counter() - started,
    )


def centre_crops(pictures: Mapping[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    height, width = next(iter(pictures.values())).shape[:2]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return {label: picture[top : top + size, left : left + size] for label, picture in pictures.items()}


def summarize(
    rows: Sequence[dict],
    simulators: Sequence[str],
    metrics: Sequence[str],
    features: Mapping[tuple[str, str, str], list[np.ndarray]],
    edges: Sequence[float],
) -> list[dict]:
    """Mean fidelity per (simulator, codec, bpp bucket), buckets in rate order, plus FID where measured."""
    from evaluation.fid import frechet_distance

    order = [bpp_bucket(edge - 1e-9, edges) for edge in edges] + [bpp_bucket(edges[-1], edges)]
    summary = []
    for simulator in simulators:
        for codec in dict.fromkeys(row["codec"] for row in rows):
            for bucket in order:
                group = [r for r in rows if (r["simulator"], r["codec"], r["bucket"]) == (simulator, codec, bucket)]
                if not group:
                    continue
                entry = {
                    "simulator": simulator,
                    "codec": codec,
                    "bucket": bucket,
                    "n": len(group),
                    "bpp_mean": float(np.mean([r["bpp"] for r in group])),
                }
                entry.update({m: float(np.mean([r[m] for r in group])) for m in metrics})
                real, simulated = features.get(("real", codec, bucket)), features.get((simulator, codec, bucket))
                if real is not None and simulated is not None:
                    entry["fid"] = (
                        frechet_distance(simulated, real) if min(len(real), len(simulated)) >= 2 else math.nan
                    )
                summary.append(entry)
    return summary
