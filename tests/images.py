"""The test pictures, made from scikit-image's bundled photographs so that a bare clone tests everything.

`write_photos(folder)`: eight colour photographs as PNG, five landscape 768x512 and three portrait
512x768 (the size of the classic Kodak test set): `PHOTOS`.
`write_jpegs(folder)`: 24 JPEGs as an image source holds them in the wild (`JPEGS`): mixed sizes and
orientations, 3 grayscale (one 350x156), one with a short side of 86, sRGB ICC profiles, progressive,
4:4:4, 4:2:2 and 4:2:0 chroma; plus a README.md and SHA256SUMS that a source must not list.

Each picture is a fixed box of a bundled photograph resized with Lanczos by Pillow: the same bytes on
every run with the same scikit-image and Pillow. File names say what the file is
(`camera_gray_350x156.JPEG`: the cameraman, grayscale, 350 wide and 156 high).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms

Box = tuple[float, float, float, float]  # left, top, right, bottom in the bundled photograph


@dataclass(frozen=True)
class Photo:
    """One PNG photograph of `PHOTOS`: `box` of the bundled `source`, resized to `size` (width, height)."""

    name: str
    source: str
    box: Box
    size: tuple[int, int]

    @property
    def file_name(self) -> str:
        return f"{self.name}.png"


@dataclass(frozen=True)
class Jpeg:
    """One JPEG of `JPEGS`, as its name says: `<name>[_gray]_<width>x<height>[_<subsampling>][_progressive][_icc]`."""

    name: str
    source: str
    box: Box | None  # None: the whole photograph
    size: tuple[int, int]
    gray: bool = False
    subsampling: str = "420"  # "444", "422" or "420"
    progressive: bool = False
    icc: bool = False
    quality: int = 90

    @property
    def file_name(self) -> str:
        parts = [self.name, "gray"] if self.gray else [self.name]
        parts.append(f"{self.size[0]}x{self.size[1]}")
        parts += [self.subsampling] if self.subsampling != "420" else []
        parts += ["progressive"] if self.progressive else []
        parts += ["icc"] if self.icc else []
        return "_".join(parts) + ".JPEG"


LANDSCAPE, PORTRAIT = (768, 512), (512, 768)
PHOTOS = (
    Photo("astronaut", "astronaut.png", (30.0, 0.0, 371.33, 512.0), PORTRAIT),  # the astronaut and the shuttle
    Photo("chelsea", "chelsea.png", (0.0, 0.0, 450.0, 300.0), LANDSCAPE),  # a cat's face, fur and whiskers
    Photo("coffee", "coffee.png", (0.0, 0.0, 600.0, 400.0), LANDSCAPE),  # a cup on a wooden table
    Photo("hubble_deep_field", "hubble_deep_field.jpg", (0.0, 102.67, 1000.0, 769.33), LANDSCAPE),  # galaxies
    Photo("ihc", "ihc.png", (0.0, 85.33, 512.0, 426.67), LANDSCAPE),  # stained tissue (immunohistochemistry)
    Photo("motorcycle", "motorcycle_left.png", (0.0, 3.0, 741.0, 497.0), LANDSCAPE),  # a motorcycle in a garage
    Photo("retina", "retina.jpg", (235.17, 0.0, 1175.83, 1411.0), PORTRAIT),  # a fundus photograph
    Photo("rocket", "rocket.jpg", (162.0, 0.0, 446.67, 427.0), PORTRAIT),  # a rocket on its launch pad
)
PORTRAITS = frozenset(photo.file_name for photo in PHOTOS if photo.size == PORTRAIT)

JPEGS = (
    Jpeg("astronaut", "astronaut.png", (20.0, 0.0, 404.0, 512.0), (375, 500)),
    Jpeg("astronaut", "astronaut.png", None, (500, 500), subsampling="444", icc=True),
    Jpeg("astronaut_helmet", "astronaut.png", (300.0, 340.0, 512.0, 512.0), (212, 172), subsampling="422"),
    Jpeg("camera", "camera.png", (0.0, 40.0, 512.0, 268.19), (350, 156), gray=True),  # the smallest gray one
    Jpeg("chelsea", "chelsea.png", (0.0, 0.0, 400.0, 300.0), (200, 150), quality=75),
    Jpeg("chelsea", "chelsea.png", None, (451, 300), icc=True),
    Jpeg("chelsea_face", "chelsea.png", (180.0, 40.0, 380.0, 291.16), (86, 108)),  # the smallest: short side 86
    Jpeg("clock_blurred", "clock_motion.png", None, (400, 300), gray=True),
    Jpeg("coffee", "coffee.png", (0.0, 0.25, 600.0, 399.75), (500, 333)),
    Jpeg("coffee", "coffee.png", (0.0, 0.0, 533.33, 400.0), (640, 480), subsampling="444"),
    Jpeg("coffee_cup", "coffee.png", (150.0, 0.0, 450.0, 400.0), (375, 500), progressive=True),
    Jpeg("coins", "coins.png", None, (384, 303), gray=True),
    Jpeg("hubble_deep_field", "hubble_deep_field.jpg", None, (1000, 872), icc=True),
    Jpeg("hubble_deep_field", "hubble_deep_field.jpg", (0.0, 0.0, 1000.0, 750.0), (500, 375), progressive=True),
    Jpeg("ihc", "ihc.png", (0.0, 64.0, 512.0, 448.0), (500, 375), subsampling="422"),
    Jpeg("ihc", "ihc.png", None, (512, 512)),
    Jpeg("motorcycle", "motorcycle_left.png", None, (741, 500), icc=True),
    Jpeg("motorcycle", "motorcycle_left.png", (0.0, 0.0, 666.67, 500.0), (800, 600), quality=95),
    Jpeg("motorcycle_wheel", "motorcycle_right.png", (380.0, 150.0, 640.0, 497.0), (333, 445)),
    Jpeg("retina", "retina.jpg", (100.0, 100.0, 1311.0, 1311.0), (1024, 1024), icc=True),
    Jpeg("retina", "retina.jpg", (0.0, 176.38, 1411.0, 1234.63), (500, 375), subsampling="444", progressive=True),
    Jpeg("rocket", "rocket.jpg", (162.0, 0.0, 446.67, 427.0), (333, 500)),
    Jpeg("rocket", "rocket.jpg", None, (640, 427), icc=True),
    Jpeg("rocket_tower", "rocket.jpg", (0.0, 0.0, 427.0, 427.0), (250, 250), quality=80),
)
GRAYSCALE = frozenset(jpeg.file_name for jpeg in JPEGS if jpeg.gray)
SUBSAMPLING = {"444": 0, "422": 1, "420": 2}  # Pillow's codes


def srgb_profile() -> bytes:
    """Little CMS's sRGB profile with its creation date fixed (it would carry the time it was made)."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes([7, 0xD0, 0, 1, 0, 1] + [0] * 6)  # dateTimeNumber: 2000-01-01 00:00:00
    return bytes(profile)


def _bundled(file_name: str, mode: str) -> Image.Image:
    import skimage  # the photographs ship inside the package: no download

    with Image.open(Path(skimage.data_dir) / file_name) as image:
        return image.convert(mode)


def _resized(source: str, box: Box | None, size: tuple[int, int], mode: str) -> Image.Image:
    image = _bundled(source, mode)
    return image.resize(size, Image.Resampling.LANCZOS, box=box or (0, 0, *image.size))


def write_photos(folder: Path) -> Path:
    """Write `PHOTOS` as PNG into folder (created); returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS:
        _resized(photo.source, photo.box, photo.size, "RGB").save(folder / photo.file_name, format="PNG")
    return folder


def jpeg_bytes(jpeg: Jpeg) -> bytes:
    image = _resized(jpeg.source, jpeg.box, jpeg.size, "L" if jpeg.gray else "RGB")
    options = {"quality": jpeg.quality, "progressive": jpeg.progressive, "optimize": jpeg.progressive}
    if not jpeg.gray:
        options["subsampling"] = SUBSAMPLING[jpeg.subsampling]
    if jpeg.icc:
        options["icc_profile"] = srgb_profile()
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def write_jpegs(folder: Path) -> Path:
    """Write `JPEGS` into folder (created) with a README.md and SHA256SUMS beside them; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = []
    for jpeg in JPEGS:
        data = jpeg_bytes(jpeg)
        (folder / jpeg.file_name).write_bytes(data)
        sums.append(f"{hashlib.sha256(data).hexdigest()}  {jpeg.file_name}\n")
    (folder / "README.md").write_text(f"# {len(JPEGS)} JPEGs made by tests/images.py from scikit-image's photographs\n")
    (folder / "SHA256SUMS").write_text("".join(sorted(sums, key=lambda line: line.split()[1])))
    return folder
