"""vrpsr shards show: the page renders in a real headless browser (Debian's chromium, installed by
./setup.sh --dev) with every picture loaded; subsets, s3:// roots and bad requests."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import s3fs

from pipeline.config import FactoryConfig
from pipeline.in_process import generate_in_process
from shards.gallery import GalleryRequest, build_gallery
from tests.shards.conftest import TINY_CODECS, TINY_QPS, TinyDataset
from vrpsr_cli.main import main

# Appended to a copy of the page: after the load event, the title says how many <img> really decoded.
COUNT_LOADED = (
    "<script>window.addEventListener('load', () => { const all = [...document.images];"
    " document.title = 'loaded ' + all.filter(i => i.complete && i.naturalWidth > 0).length + ' of ' + all.length;"
    " });</script>"
)


def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: ./setup.sh --dev installs it (apt-get install chromium)"
    return found


def headless(page: Path, *flags: str) -> subprocess.CompletedProcess:
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses root with its sandbox
    return subprocess.run(
        [browser(), "--headless", "--disable-gpu", *sandbox, "--virtual-time-budget=20000", *flags, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def loaded_pictures(page: Path, tmp_path: Path) -> tuple[int, int]:
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", COUNT_LOADED + "</body>"))
    completed = headless(probe, "--dump-dom")
    assert completed.returncode == 0, completed.stderr[-2000:]
    match = re.search(r"<title>loaded (\d+) of (\d+)</title>", completed.stdout)
    assert match, completed.stdout[:500]
    return int(match[1]), int(match[2])


def test_page_renders_in_chromium_with_every_picture(tiny_dataset: TinyDataset, tmp_path: Path, capsys) -> None:
    page = tmp_path / "page.html"
    code = main(
        ["shards", "show", str(tiny_dataset.root), "--out", str(page), "--limit", "2"]
        + ["--codecs", "x264,vvenc", "--qps", "30,44"]
    )
    assert code == 0
    assert f"{page}: 2 sample(s), 25 pictures" in capsys.readouterr().out
    # per sample: clean + lq + 2 codecs x 2 QPs, each with its zoomed crop; then the RD plot
    assert loaded_pictures(page, tmp_path) == (25, 25)
    html = page.read_text()
    assert (
        html.count("x264 QP 30") == 2
        and html.count("vvenc QP 44") == 2
        and "<h3>x265" not in html
        and "<h3>x264" in html
    )
    assert "bpp ·" in html and "RD plot" in html and tiny_dataset.keys[1] in html and tiny_dataset.keys[2] not in html
    screenshot = tmp_path / "page.png"
    completed = headless(page, f"--screenshot={screenshot}", "--window-size=1400,1800")
    assert completed.returncode == 0 and screenshot.stat().st_size > 10_000, completed.stderr[-2000:]


def test_default_page_shows_every_codec_at_every_qp(tiny_dataset: TinyDataset) -> None:
    gallery = build_gallery(GalleryRequest(str(tiny_dataset.root), keys=(tiny_dataset.keys[-1],)))
    per_sample = 2 + len(TINY_CODECS) * len(TINY_QPS)
    assert (gallery.samples, gallery.pictures) == (1, 2 * per_sample + 1)
    assert gallery.html.count("<img") == gallery.pictures
    assert all(f"{codec} QP {qp}<" in gallery.html for codec in TINY_CODECS for qp in TINY_QPS)


def test_s3_root_gives_the_same_page(tiny_dataset: TinyDataset, s3_server) -> None:
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.put(str(tiny_dataset.root), f"{s3_server.bucket}/gallery", recursive=True)
    url = f"s3://{s3_server.bucket}/gallery"
    request = {"keys": tiny_dataset.keys[:1], "codecs": ("x265",), "qps": (36,)}
    remote = build_gallery(GalleryRequest(url, **request), s3_server.storage_options)
    local = build_gallery(GalleryRequest(str(tiny_dataset.root), **request))
    assert remote.pictures == local.pictures == 2 * 3 + 1
    assert remote.html.replace(url, "ROOT") == local.html.replace(str(tiny_dataset.root), "ROOT")


def test_bad_requests_end_in_one_line_naming_the_fix(tiny_dataset: TinyDataset, tmp_path: Path, capsys) -> None:
    root, page = str(tiny_dataset.root), str(tmp_path / "page.html")
    cases = [
        (["--keys", "999999_00000"], ["no sample 999999_00000", tiny_dataset.keys[0]]),
        (["--qps", "31"], ["QP 31 not in the dataset's grid", "20,22,24"]),
        (["--codecs", "x266"], ["no codec group x266", "x264, x265, vvenc"]),
    ]
    for flags, expected in cases:
        assert main(["shards", "show", root, "--out", page, *flags]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("vrpsr shards: error:"), error
        assert all(text in error for text in expected), error
    assert not Path(page).exists()


def picture_widths(html: str) -> list[int]:
    """Widths of the page's PNGs, read from their IHDR headers."""
    return [
        int.from_bytes(base64.b64decode(data)[16:20], "big")
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    ]


def test_large_pictures_are_stored_at_the_shown_width_and_crops_at_their_own_pixels(jpeg_dir, tmp_path) -> None:
    root, listing = tmp_path / "large", tmp_path / "inputs.txt"
    listing.write_text(f"{sorted(jpeg_dir.glob('*.JPEG'))[0]}\n")
    config = FactoryConfig(str(listing), str(root), codecs=("x264",), qps=(40,), size=512, lq_variants=2)
    generate_in_process(config)
    small = build_gallery(GalleryRequest(str(root)))
    full = build_gallery(GalleryRequest(str(root), full_size=True))
    # clean, two lq variants (128 px, kept), x264 QP 40: each whole picture then its 128-px crop (lq: 32 px)
    assert picture_widths(small.html) == [256, 128, 128, 32, 128, 32, 256, 128, *picture_widths(small.html)[-1:]]
    assert picture_widths(full.html)[:8] == [512, 128, 128, 32, 128, 32, 512, 128]
    assert "SR input (lq variant 1)" in small.html and small.pictures == 9
    assert "--full-size keeps them" in small.html and "--full-size" not in full.html
