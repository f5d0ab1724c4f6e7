"""The evaluation's typed configuration (built by the CLI, written into the results folder)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from codec_bindings import PAPER_CODECS, get_codec
from evaluation.bd_rate import BD_METHODS, DEFAULT_BD_METHOD
from evaluation.color_fix import COLOR_FIX_STAGES, COLOR_FIXES
from evaluation.metrics import DEFAULT_METRICS, METRICS

MODES = ("qp", "crf")


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on and how.

    mode "qp" (Table 1): encode the degraded input at each QP q to get the target size R̄, then rate-match
    each model's output to R̄. mode "crf" (Table S4): encode the degraded input at each CRF to measure the
    bpp fed to the model as its condition, then encode the output at the same CRF (no rate matching).
    """

    data: str
    codecs: tuple[str, ...] = PAPER_CODECS
    qps: tuple[int, ...] = (32, 37, 42, 47)  # the QP codecs' settings (x264, x265, vvenc, av1)
    qualities: tuple[int, ...] = (20, 40, 60, 80)  # mode qp: the quality codecs' settings (jpeg, webp)
    mode: str = "qp"
    crfs: tuple[float, ...] = (23.0, 28.0, 33.0, 38.0)
    size: int = 512
    degradation: str = "s3diff"
    scale: int = 4
    seed: int = 0
    limit: int | None = None  # the first N images (sorted by name) only
    presets: tuple[tuple[str, str], ...] = ()  # (codec, preset) overrides
    threads: int = 1
    metrics: tuple[str, ...] = DEFAULT_METRICS
    bd_method: str = DEFAULT_BD_METHOD
    crop_images: int = 2  # side-by-side crops for the first N images, at the middle setting
    crop_size: int = 128
    color_fix: str = "none"  # "adain" / "wavelet": colours pulled toward the upsampled LQ (color_fix.py)
    color_fix_at: str = "decoded"  # "decoded": the codec's output (official VRPSR); "sr": before encoding

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not self.codecs:
            raise ValueError("no codecs to evaluate")
        for codec in self.codecs:
            spec = get_codec(codec)
            if self.mode == "crf" and not spec.supports_crf:
                raise ValueError(f"{codec} has no CRF mode (constant QP only): leave it out of the CRF evaluation")
            low, high = spec.rate_range
            if self.mode == "qp" and any(not low <= q <= high for q in self.settings_for(codec)):
                name = "QPs" if spec.rate_parameter == "qp" else "qualities"
                raise ValueError(f"{codec}: {name} {list(self.settings_for(codec))} not within {low}..{high}")
        if not self.settings:
            raise ValueError(f"no {'QPs' if self.mode == 'qp' else 'CRFs'} to evaluate")
        if len(set(self.settings)) != len(self.settings) or len(set(self.qualities)) != len(self.qualities):
            raise ValueError(f"repeated settings in {self.settings} / {self.qualities}")
        if self.size % self.scale:
            raise ValueError(f"size {self.size} is not a multiple of scale {self.scale}")
        if self.bd_method not in BD_METHODS:
            raise ValueError(f"unknown BD interpolation {self.bd_method!r}; known: {', '.join(BD_METHODS)}")
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
        if self.color_fix not in COLOR_FIXES:
            raise ValueError(f"unknown colour fix {self.color_fix!r}; choose one of {', '.join(COLOR_FIXES)}")
        if self.color_fix_at not in COLOR_FIX_STAGES:
            raise ValueError(f"colour fix stage {self.color_fix_at!r}: choose one of {', '.join(COLOR_FIX_STAGES)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")

    @property
    def settings(self) -> tuple[float, ...]:
        """The QPs (mode qp) or CRFs (mode crf), in the order given."""
        return tuple(self.qps) if self.mode == "qp" else tuple(self.crfs)

    def settings_for(self, codec: str) -> tuple[float, ...]:
        """The settings of ``codec``: mode qp gives a quality codec (jpeg, webp) the qualities, others the QPs."""
        if self.mode == "qp" and get_codec(codec).rate_parameter == "quality":
            return tuple(self.qualities)
        return self.settings

    def setting_name(self, codec: str) -> str:
        return "CRF" if self.mode == "crf" else ("QP" if get_codec(codec).rate_parameter == "qp" else "quality")

    def preset_for(self, codec: str) -> str:
        return dict(self.presets).get(codec) or get_codec(codec).default_preset

    def to_json(self) -> dict:
        return dataclasses.asdict(self)
