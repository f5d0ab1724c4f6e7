"""Brace patterns and globs naming many files: `s3://bucket/imagenet-train-{0000..1023}.tar`,
`data/train-*.parquet`.

Braces expand like bash, left to right: `{0000..1023}` (zero-padded to the wider end when either end
has a leading zero; a step `{0..10..2}`; descending ranges too) and `{a,b,c}`, nested or several in
one pattern. Each expanded name that holds a glob character (`*`, `?`, `[`) is then globbed (sorted).
Expansion order is the listing order.
"""

from __future__ import annotations

import re

from pipeline.errors import SourceError
from pipeline.sources.item import filesystem, full_uri

GLOB_CHARACTERS = "*?["
RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$")
MAX_EXPANSION = 10_000_000


def is_pattern(source: str) -> bool:
    return ("{" in source and "}" in source) or any(character in source for character in GLOB_CHARACTERS)


def expand_braces(pattern: str) -> list[str]:
    """All names a brace pattern stands for, in order; a pattern without braces is itself."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    end = _matching_brace(pattern, start)
    head, body, tail = pattern[:start], pattern[start + 1 : end], pattern[end + 1 :]
    options = _range(body) if RANGE.match(body) else _split_top_level(body)
    if len(options) < 2 and not RANGE.match(body):
        raise SourceError(f"{pattern}: '{{{body}}}' is neither a range {{a..b}} nor a list {{a,b}}")
    tails = expand_braces(tail)
    names = [head + expanded + rest for option in options for expanded in expand_braces(option) for rest in tails]
    if len(names) > MAX_EXPANSION:
        raise SourceError(f"{pattern}: expands to more than {MAX_EXPANSION} names")
    return names


def expand_pattern(source: str, storage_options: dict | None) -> list[str]:
    """The URIs a pattern names: braces expanded, then each glob matched (sorted); SourceError if none."""
    uris: list[str] = []
    for name in expand_braces(source):
        if not any(character in name for character in GLOB_CHARACTERS):
            uris.append(name)
            continue
        fs, path = filesystem(name, storage_options)
        uris.extend(full_uri(fs, match) for match in sorted(fs.glob(path)) if fs.isfile(match))
    if not uris:
        raise SourceError(f"{source}: the pattern matches no files")
    return uris


def _matching_brace(pattern: str, start: int) -> int:
    depth = 0
    for position in range(start, len(pattern)):
        depth += {"{": 1, "}": -1}.get(pattern[position], 0)
        if depth == 0:
            return position
    raise SourceError(f"{pattern}: unbalanced '{{'")


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for character in body:
        if character == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"{": 1, "}": -1}.get(character, 0)
        current.append(character)
    parts.append("".join(current))
    return parts


def _range(body: str) -> list[str]:
    first_text, last_text, step_text = RANGE.match(body).groups()  # type: ignore[union-attr]
    first, last, step = int(first_text), int(last_text), abs(int(step_text or 1)) or 1
    padded = any(len(text.lstrip("-")) > 1 and text.lstrip("-").startswith("0") for text in (first_text, last_text))
    width = max(len(first_text), len(last_text)) if padded else 0
    values = range(first, last + 1, step) if first <= last else range(first, last - 1, -step)
    return [f"{value:0{width}d}" for value in values]
