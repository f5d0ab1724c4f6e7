"""The test pictures (tests/images.py) have the properties the other tests rely on, and the same bytes each time."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
from PIL import Image, JpegImagePlugin

from tests.images import GRAYSCALE, JPEGS, PHOTOS, PORTRAITS, srgb_profile, write_jpegs, write_photos

SUBSAMPLING_CODES = {"444": 0, "422": 1, "420": 2}  # JpegImagePlugin.get_sampling


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def test_photos_are_landscape_and_portrait_colour_photographs(photo_dir: Path) -> None:
    assert sorted(path.name for path in photo_dir.iterdir()) == sorted(photo.file_name for photo in PHOTOS)
    assert PORTRAITS == {"astronaut.png", "retina.png", "rocket.png"}
    for photo in PHOTOS:
        with Image.open(photo_dir / photo.file_name) as image:
            expected = (512, 768) if photo.file_name in PORTRAITS else (768, 512)
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", expected)
            pixels = np.asarray(image).astype(int)
        assert pixels.std() > 20, f"{photo.file_name} is nearly flat"  # a photograph, not a blank canvas
        assert np.abs(pixels[:, :, 0] - pixels[:, :, 2]).mean() > 5, f"{photo.file_name} is gray"


def test_jpegs_are_what_their_names_say(jpeg_dir: Path) -> None:
    paths = sorted(jpeg_dir.glob("*.JPEG"))
    assert [path.name for path in paths] == sorted(jpeg.file_name for jpeg in JPEGS) and len(paths) == 24
    short_sides = {}
    for path in paths:
        with Image.open(path) as image:
            short_sides[path.name] = min(image.size)
            width, height = map(int, re.search(r"_(\d+)x(\d+)", path.name).groups())
            assert image.format == "JPEG" and image.size == (width, height), path.name
            assert (image.mode == "L") == ("_gray_" in path.name) == (path.name in GRAYSCALE), path.name
            assert (image.info.get("icc_profile") == srgb_profile()) == path.name.endswith("_icc.JPEG"), path.name
            assert bool(image.info.get("progressive")) == ("_progressive" in path.name), path.name
            if image.mode != "L":
                named = next((code for code in ("444", "422") if f"_{code}" in path.name), "420")
                assert JpegImagePlugin.get_sampling(image) == SUBSAMPLING_CODES[named], path.name
    assert len(GRAYSCALE) == 3 and "camera_gray_350x156.JPEG" in GRAYSCALE
    assert min(short_sides.values()) == 86 and sorted(short_sides.values())[1] > 86
    assert short_sides["chelsea_face_86x108.JPEG"] == 86


def test_the_same_bytes_every_time(photo_dir: Path, jpeg_dir: Path, tmp_path: Path) -> None:
    assert _digests(write_photos(tmp_path / "photos")) == _digests(photo_dir)
    assert _digests(write_jpegs(tmp_path / "jpegs")) == _digests(jpeg_dir)
