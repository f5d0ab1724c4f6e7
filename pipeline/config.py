"""FactoryConfig: everything that decides a dataset's bytes; serialised into dataset.json and hashed for resume."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from codec_bindings import PAPER_CODECS, get_codec
from pipeline.config_checks import encoder_problems, grid_problems, job_problems, picture_problems
from pipeline.degrade import PRESETS
from pipeline.sources import DEFAULT_MAX_INPUT_BYTES

DEFAULT_QPS = tuple(range(20, 51, 2))  # covers 0.45 -> 0.09 bpp (QP ~30 -> 44 +- 6) and q - 10 of each
DEFAULT_CODECS = PAPER_CODECS  # x264, x265, vvenc; av1, jpeg, webp only when asked for


@dataclass(frozen=True)
class FactoryConfig:
    source: str
    out: str
    codecs: tuple[str, ...] = DEFAULT_CODECS
    qps: tuple[int, ...] = DEFAULT_QPS  # the grid of the codecs whose default_grid is None (x264, x265, vvenc)
    crfs: tuple[float, ...] = ()
    grids: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (codec, grid) overrides: --grid jpeg=10-90/10
    lq_grid: bool = False  # also code X̃ upsampled to `size` (the target rates R̄ of the evaluation protocol)
    size: int = 512
    crop: str = "center"  # "center" (the paper's protocol) or "random" (training data)
    degradation: str = "s3diff"
    scale: int = 4
    seed: int = 0
    shard_size: int = 64
    presets: tuple[tuple[str, str], ...] = ()  # (codec, preset) overrides of the codec defaults
    threads: int = 1
    png_compression: int = 3
    lq_variants: int = 1  # independently seeded degradations per picture (training: a fresh one each epoch)
    image_column: str | None = None  # parquet sources: the image-bytes column (None: detected)
    label_column: str | None = None  # parquet sources: the label column (None: 'label' or 'cls' if present)
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES  # a larger input file or member is a failure row, read no further
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for codec in self.codecs:
            get_codec(codec)
        if self.crop not in ("center", "random"):
            raise ValueError(f"crop must be 'center' or 'random', got {self.crop!r}")
        if self.degradation not in PRESETS:
            raise ValueError(f"unknown degradation preset {self.degradation!r}; known: {', '.join(PRESETS)}")
        if not self.qps and not self.crfs:
            raise ValueError("give at least one QP or CRF point")
        if self.lq_variants < 1:
            raise ValueError(f"lq_variants must be >= 1, got {self.lq_variants}")
        problems = [
            *picture_problems(self.size, self.scale),
            *grid_problems(self.codecs, self.qps, self.crfs, {codec: self.grid_for(codec) for codec in self.codecs}),
            *[f"--grid {codec}=...: {codec} is not in --codecs" for codec, _ in self.grids if codec not in self.codecs],
            *encoder_problems(self.codecs, self.presets, self.threads),
            *job_problems(self.seed, self.shard_size, self.png_compression, self.max_input_bytes),
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def grid_for(self, codec: str) -> tuple[int, ...]:
        """The values of ``codec``'s rate parameter to code: its --grid override, else its own default grid,
        else (x264, x265, vvenc) the --qps grid."""
        override = dict(self.grids).get(codec)
        if override is not None:
            return tuple(override)
        default = get_codec(codec).default_grid
        return tuple(default) if default is not None else tuple(self.qps)

    def preset_for(self, codec: str) -> str:
        return dict(self.presets).get(codec, get_codec(codec).default_preset)

    def as_dict(self) -> dict:
        record = dataclasses.asdict(self)
        record.pop("extra")
        if not self.grids:  # recorded only when used: older datasets keep their dataset.json
            record.pop("grids")
        else:
            record["grids"] = {codec: list(grid) for codec, grid in self.grids}
        return record


BASE_FIELDS = ("size", "crop", "degradation", "scale", "seed", "shard_size", "png_compression")
SOURCE_COLUMN_FIELDS = ("image_column", "label_column")  # hashed only when set: older datasets keep their hash
ADDED_BASE_FIELDS = {"lq_variants": 1}  # hashed only when not this value: older datasets keep their hash


def base_config_hash(config: FactoryConfig, listing_digest: str) -> str:
    """Hash of what decides the base group's bytes (the source listing included, not the OUT path)."""
    columns = {name: getattr(config, name) for name in SOURCE_COLUMN_FIELDS if getattr(config, name) is not None}
    added = {name: getattr(config, name) for name, old in ADDED_BASE_FIELDS.items() if getattr(config, name) != old}
    fields = {name: getattr(config, name) for name in BASE_FIELDS}
    return _hash({"listing": listing_digest, **fields, **columns, **added})


def codec_config_hash(config: FactoryConfig, base_hash: str, codec: str, encoder_version: str) -> str:
    return _hash(
        {
            "base": base_hash,
            "codec": codec,
            "qps": list(config.grid_for(codec)),  # qualities for jpeg/webp
            "crfs": [float(c) for c in config.crfs],
            "lq_grid": config.lq_grid,
            "preset": config.preset_for(codec),
            "threads": config.threads,
            "encoder": encoder_version,
        }
    )


def run_config_hash(config: FactoryConfig) -> str:
    """Hash of the whole config: two runs writing one OUT at once must agree on it (shards.writer_lease)."""
    return _hash(config.as_dict())


def listing_digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def _hash(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
