"""sample_condition: pick (codec, QP q) for a sample and keep only the members an item needs.

The condition c is a codec and the bpp of the real codec at q; the "slightly compressed" target is
the same codec at q - slight_qp_offset (QP codecs), or for jpeg/webp at the finer grid quality whose
bpp is nearest to twice the bpp (codec_bindings.slight). The choice is a pure function of (seed, epoch,
key), so the set of items of an epoch does not depend on how many ranks or workers read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from codec_bindings import PAPER_CODECS, get_codec
from codec_bindings.slight import slight_partner
from shards.codec_meta import parse_codec_meta
from shards.errors import ShardError
from shards.layout import (
    BASE_GROUP,
    CLEAN_SUFFIX,
    CODEC_GROUPS,
    META_SUFFIX,
    bitstream_suffix,
    lq_suffix,
    lq_variant_count,
)
from shards.loader.plan import lq_variant, rng_for
from shards.prompts import PROMPT_FORMATS, condition_prompt
from shards.qp_pairs import SLIGHT_QP_OFFSET


@dataclass(frozen=True)
class ConditionSpec:
    """Which conditions to train on.

    codec_weights: relative probability per codec group (None: uniform over the groups read);
    qp_range: inclusive bounds of the sampled QP q; slight_qp_offset: the slight target is at q - offset
    (QP codecs; the quality codecs jpeg and webp sample their whole grid and pair by bpp);
    prompt_format: the items' prompt text, "official" or "paper" (shards/prompts.py).
    """

    codec_weights: Mapping[str, float] | None = None
    qp_range: tuple[int, int] = (0, 63)
    slight_qp_offset: int = SLIGHT_QP_OFFSET  # 0: codec_out_slight is codec_out (no partner needed)
    prompt_format: str = "official"

    def __post_init__(self) -> None:
        if self.qp_range[0] > self.qp_range[1]:
            raise ValueError(f"qp_range {self.qp_range} is empty")
        if self.slight_qp_offset < 0:
            raise ValueError(f"slight_qp_offset must be >= 0, got {self.slight_qp_offset}")
        if self.prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"prompt_format {self.prompt_format!r}: choose one of {', '.join(PROMPT_FORMATS)}")
        for codec, weight in (self.codec_weights or {}).items():
            if codec not in CODEC_GROUPS or weight < 0:
                raise ValueError(f"codec weight {codec}={weight}: codecs are {', '.join(CODEC_GROUPS)}, weights >= 0")

    def resolved(self, groups: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
        """(codec, probability) over the groups read; a weighted codec that is not read is an error."""
        weights = dict(self.codec_weights) if self.codec_weights else {codec: 1.0 for codec in groups}
        missing = [codec for codec, weight in weights.items() if weight > 0 and codec not in groups]
        if missing:
            raise ValueError(
                f"condition weights name {', '.join(missing)} but the loader reads only {', '.join(groups)}"
            )
        total = sum(weights.get(codec, 0.0) for codec in groups)
        if total <= 0:
            raise ValueError(f"condition weights {weights} give no codec of {', '.join(groups)} a chance")
        return tuple((codec, weights.get(codec, 0.0) / total) for codec in groups if weights.get(codec, 0.0) > 0)

    def eligible_qps(self, coded_qps: set[int]) -> list[int]:
        """QPs q in range whose q - offset is coded too."""
        low, high = self.qp_range
        return sorted(q for q in coded_qps if low <= q <= high and q - self.slight_qp_offset in coded_qps)

    def eligible_values(self, codec: str, coded_bpp: Mapping[int, float]) -> list[int]:
        """Grid values of ``codec`` (grid value -> bpp of the sample) that may be drawn: those with a partner,
        and for QP codecs only those within qp_range."""
        if get_codec(codec).rate_parameter == "qp":
            return self.eligible_qps(set(coded_bpp))
        return sorted(v for v in coded_bpp if slight_partner(codec, v, coded_bpp, self.slight_qp_offset) is not None)


@dataclass(frozen=True)
class Selection:
    """Everything one item needs, and nothing else: two PNGs and the two bitstreams of the condition."""

    key: str
    codec: str
    qp: int  # the value of the codec's rate parameter: a QP, or a jpeg/webp quality
    slight_qp: int
    bpp: float
    bpp_slight: float
    clean_png: bytes = field(repr=False)
    lq_png: bytes = field(repr=False)
    bitstream: bytes = field(repr=False)
    bitstream_slight: bytes = field(repr=False)
    sha256: str
    sha256_slight: str
    height: int
    width: int
    matrix: str
    value_range: str
    prompt: str = ""


def sample_condition(
    key: str,
    members: Mapping[str, Mapping[str, bytes]],
    spec: ConditionSpec,
    weights: tuple[tuple[str, float], ...],
    seed: int,
    epoch: int | str,
    shard: str,
) -> Selection:
    """Choose the codec (by weight) and q (uniform over the eligible QPs) for ``key``; ShardError if impossible."""
    rng = rng_for(seed, epoch, key, "condition")
    codecs = [codec for codec, _ in weights]
    codec = codecs[int(rng.choice(len(codecs), p=[probability for _, probability in weights]))]
    where = f"{shard}: {key} ({codec})"
    meta = parse_codec_meta(_member(members, codec, META_SUFFIX, where), where)
    coded = meta.clean_grid()
    coded_bpp = {value: picture.bpp for value, picture in coded.items()}
    eligible = spec.eligible_values(codec, coded_bpp)
    if not eligible:
        if get_codec(codec).rate_parameter == "qp":
            raise ShardError(
                f"{where}: no QP in {spec.qp_range} with q-{spec.slight_qp_offset} also coded (coded: {sorted(coded)})"
            )
        raise ShardError(f"{where}: no quality with a finer one at twice its bpp (coded: {sorted(coded)})")
    qp = int(eligible[int(rng.integers(len(eligible)))])
    slight_qp = slight_partner(codec, qp, coded_bpp, spec.slight_qp_offset)
    target, slight = coded[qp], coded[slight_qp]
    return Selection(
        key=key,
        codec=codec,
        qp=qp,
        slight_qp=slight_qp,
        bpp=target.bpp,
        bpp_slight=slight.bpp,
        clean_png=_member(members, BASE_GROUP, CLEAN_SUFFIX, where),
        lq_png=_member(members, BASE_GROUP, lq_suffix(_lq_variant(members, seed, key, epoch)), where),
        bitstream=_member(members, codec, bitstream_suffix(codec, target.name), where),
        bitstream_slight=_member(members, codec, bitstream_suffix(codec, slight.name), where),
        sha256=target.sha256,
        sha256_slight=slight.sha256,
        height=meta.height,
        width=meta.width,
        matrix=meta.matrix,
        value_range=meta.value_range,
        prompt=condition_prompt(codec, target.bpp, spec.prompt_format),
    )


def onehot_codecs(dataset_codecs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The codecs of the one-hot of a dataset: x264, x265, vvenc always at positions 0-2 (so checkpoints of
    the paper's layout load), then the dataset's other codecs in layout.CODEC_GROUPS order."""
    return PAPER_CODECS + tuple(c for c in CODEC_GROUPS if c in dataset_codecs and c not in PAPER_CODECS)


def codec_onehot(codec: str, codec_names: tuple[str, ...] = PAPER_CODECS) -> list[float]:
    """One-hot of ``codec`` over ``codec_names`` (onehot_codecs of the dataset; default the paper's three)."""
    if codec not in codec_names:
        raise ShardError(f"codec {codec} has no place in the one-hot over {', '.join(codec_names)}")
    return [1.0 if codec == name else 0.0 for name in codec_names]


def _lq_variant(members: Mapping[str, Mapping[str, bytes]], seed: int, key: str, epoch: int | str) -> int:
    """The LQ picture this epoch reads, of those the sample holds (one, unless made with --lq-variants)."""
    return lq_variant(lq_variant_count(members.get(BASE_GROUP, {})), seed, key, epoch)


def _member(members: Mapping[str, Mapping[str, bytes]], group: str, suffix: str, where: str) -> bytes:
    try:
        return members[group][suffix]
    except KeyError:
        raise ShardError(f"{where}: member {suffix!r} missing from the {group} group") from None
