"""A codec group's <key>.meta.json, in one place for its writer and its readers.

The member is {"key", "codec", "encoder": {params shared by every picture}, "pictures": {name: entry}};
pipeline/shard_job.py writes it with picture_entry() and codec_meta_bytes(), and the loader, verify,
stats and the benchmarks read it with parse_codec_meta() into typed records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from codec_bindings import Encoded
from shards.dataset_info import to_json_bytes
from shards.errors import ShardError
from shards.layout import CLEAN_PICTURE


def picture_entry(encoded: Encoded, picture: str) -> dict:
    """The record of one coded picture (``picture``: layout.CLEAN_PICTURE or LQ_PICTURE)."""
    mode = "qp" if encoded.qp is not None else ("quality" if encoded.quality is not None else "crf")
    entry = {
        "picture": picture,
        "mode": mode,
        "qp": encoded.qp,
        "crf": encoded.crf,
        "bpp": encoded.bpp,
        "psnr": encoded.params["psnr"],
        "bits": encoded.bits,
        "sha256": encoded.params["sha256"],
        "encoder_options": encoded.params.get("options") or encoded.params.get("command"),
    }
    if encoded.quality is not None:  # jpeg, webp (absent for the QP codecs: their meta.json bytes are unchanged)
        entry["quality"] = encoded.quality
    return entry


def codec_meta_bytes(key: str, codec: str, encoder: dict, pictures: dict[str, dict]) -> bytes:
    """The meta.json member of one sample: shared encoder params and every picture's entry."""
    return to_json_bytes({"key": key, "codec": codec, "encoder": encoder, "pictures": pictures})


@dataclass(frozen=True)
class CodedPicture:
    """One coded picture of a sample: its name ('qp32', 'lq_qp32', 'crf23') and what was recorded."""

    name: str
    picture: str  # layout.CLEAN_PICTURE or layout.LQ_PICTURE
    qp: int | None
    crf: float | None
    bpp: float
    bits: int
    psnr: float
    sha256: str
    quality: int | None = None  # jpeg, webp

    @property
    def rate_value(self) -> int | float | None:
        """The value of the codec's rate parameter (QP or quality; the CRF of a CRF picture)."""
        return next((value for value in (self.qp, self.quality, self.crf) if value is not None), None)


@dataclass(frozen=True)
class CodecMeta:
    key: str
    codec: str
    pictures: dict[str, CodedPicture]
    width: int
    height: int
    matrix: str
    value_range: str
    preset: str
    threads: int

    def clean_qps(self) -> dict[int, CodedPicture]:
        """The constant-QP pictures of the clean target, by QP."""
        return {
            p.qp: p for p in self.pictures.values() if p.picture == CLEAN_PICTURE and p.crf is None and p.qp is not None
        }

    def clean_grid(self) -> dict[int, CodedPicture]:
        """The grid pictures of the clean target by the value of the rate parameter (QP, or quality)."""
        return {
            p.rate_value: p
            for p in self.pictures.values()
            if p.picture == CLEAN_PICTURE and p.crf is None and p.rate_value is not None
        }


def parse_codec_meta(data: bytes, name: str) -> CodecMeta:
    """Parse a codec meta.json; ``name`` (shard and member) is used in errors."""
    try:
        meta = json.loads(data)
        encoder = meta["encoder"]
        pictures = {
            picture_name: CodedPicture(
                picture_name,
                entry["picture"],
                entry["qp"],
                entry["crf"],
                float(entry["bpp"]),
                int(entry["bits"]),
                float(entry["psnr"]),
                entry["sha256"],
                entry.get("quality"),
            )
            for picture_name, entry in meta["pictures"].items()
        }
        return CodecMeta(
            meta["key"],
            meta["codec"],
            pictures,
            int(encoder["width"]),
            int(encoder["height"]),
            encoder["color"]["matrix"],
            encoder["color"]["range"],
            encoder["preset"],
            int(encoder["threads"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ShardError(f"{name}: malformed codec meta.json ({type(error).__name__}: {error})") from error
