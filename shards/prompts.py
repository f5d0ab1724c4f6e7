"""The text prompt of a codec condition (codec, bpp): one place for every format the project writes.

"official" (the default everywhere): what the official VRPSR code and our S3Diff models write,
``"A libx265 0.1400 bpp compressed image."`` (no braces, 4 decimals, vvenc named libx266 as there; av1,
jpeg and webp by their libraries: libsvtav1, libjpeg, libwebp).
"paper": the paper's text, ``"A {libx265} {0.14} bpp compressed image."`` (braces, bpp rounded to 2
decimals), kept as a recorded option for anyone reproducing the paper's wording.
"""

from __future__ import annotations

from shards.layout import LIBRARY_NAMES

OFFICIAL_PROMPT = "A {codec} {value:.4f} bpp compressed image."  # fields: {codec} and {value}
OFFICIAL_CODEC_NAMES: tuple[str, ...] = ("libx264", "libx265", "libx266")  # for x264, x265, vvenc (that order)
OFFICIAL_NAME_OF = dict(zip(("x264", "x265", "vvenc"), OFFICIAL_CODEC_NAMES, strict=True))
PROMPT_FORMATS = ("official", "paper")


def official_prompt(codec: str, bpp: float) -> str:
    return OFFICIAL_PROMPT.format(codec=OFFICIAL_NAME_OF.get(codec, LIBRARY_NAMES[codec]), value=float(bpp))


def paper_prompt(codec: str, bpp: float) -> str:
    return f"A {{{LIBRARY_NAMES[codec]}}} {{{round(float(bpp), 2)}}} bpp compressed image."


def condition_prompt(codec: str, bpp: float, prompt_format: str = "official") -> str:
    """The prompt of (codec, bpp) in ``prompt_format`` (one of PROMPT_FORMATS)."""
    if prompt_format == "official":
        return official_prompt(codec, bpp)
    if prompt_format == "paper":
        return paper_prompt(codec, bpp)
    raise ValueError(f"unknown prompt format {prompt_format!r}; choose one of {', '.join(PROMPT_FORMATS)}")
