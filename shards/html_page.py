"""Small pieces of a self-contained HTML page: escaped text, inline pictures, tables, the page frame.

Pictures are embedded as base64 data URIs, so the page is one file that opens anywhere (no server, no
folder beside it). Imports neither torch nor a templating library."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import cv2
import numpy as np

from shards.errors import ShardError

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1em 0 0.3em; }
.row { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
figure { margin: 0; padding: 4px; background: #f6f6f6; border-radius: 4px; }
figure img { display: block; width: var(--shown, 192px); height: auto; image-rendering: pixelated; }
figure img.zoom { margin-top: 4px; }
figcaption { font-size: 0.78em; line-height: 1.3; margin-top: 3px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 0.8em; font-variant-numeric: tabular-nums; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
.note { color: #666; font-size: 0.85em; }
"""


def text(value: object) -> str:
    return html.escape(str(value))


def png_bytes(rgb: np.ndarray) -> bytes:
    """RGB uint8 -> PNG bytes (lossless: a gallery of codec artefacts must not add its own)."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise ShardError(f"PNG encoding failed for a {rgb.shape} {rgb.dtype} picture")
    return data.tobytes()


def image_tag(png: bytes, alt: str, css_class: str = "") -> str:
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    class_attribute = f' class="{css_class}"' if css_class else ""
    return f'<img{class_attribute} alt="{text(alt)}" src="{source}">'


def figure(pictures: Sequence[str], caption_lines: Sequence[str]) -> str:
    """A captioned cell: one or more <img> tags stacked, the caption lines under them."""
    caption = "<br>".join(text(line) for line in caption_lines)
    return f"<figure>{''.join(pictures)}<figcaption>{caption}</figcaption></figure>"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{text(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: Sequence[str], shown_width: int) -> str:
    """The whole document; ``shown_width`` is the CSS width (px) every picture is shown at."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{text(title)}</title><style>{STYLE}:root {{ --shown: {shown_width}px; }}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
