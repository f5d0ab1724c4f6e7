"""The version lock: what decides a group's bytes besides its config, recorded in dataset.json and checked
by every task, so that a node with another PyAV / imageio-ffmpeg / numpy / OpenCV / Pillow / pyarrow build
fails with a recorded reason instead of writing other bytes under the same config hash.

constraints.txt pins these packages (and ray); `./setup.sh` installs with it.
"""

from __future__ import annotations

import platform
from importlib import metadata

from codec_bindings import get_codec
from shards.errors import ShardError
from shards.layout import BASE_GROUP

# Distributions whose code is on the path from input bytes to shard bytes: JPEG/PNG decoding (pillow,
# opencv), resizing and degradation (opencv, numpy), encoders (av wheels carry libx264/libx265,
# imageio-ffmpeg carries the ffmpeg with libvvenc), parquet manifests (pyarrow).
BYTE_DECIDING_PACKAGES = ("av", "imageio-ffmpeg", "numpy", "opencv-python-headless", "pillow", "pyarrow")
CONSTRAINTS_HINT = (
    "install the pinned versions on every node: pip install -c constraints.txt -e . (./setup.sh --factory does)"
)


class VersionMismatch(ShardError):
    """This worker's packages or encoder differ from what dataset.json records for the group."""


def package_versions() -> dict[str, str]:
    """{distribution: version} of BYTE_DECIDING_PACKAGES in this process ('absent' when not installed)."""
    versions = {}
    for name in BYTE_DECIDING_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def encoder_version(codec: str) -> str:
    """The encoder build of ``codec`` in this process (one tiny encode, cached per process)."""
    return get_codec(codec).version()


def group_versions(group: str) -> dict:
    """What a task of ``group`` compares: {'packages': {...}} plus {'encoder': ...} for a codec group."""
    versions: dict = {"packages": package_versions()}
    if group != BASE_GROUP:
        versions["encoder"] = encoder_version(group)
    return versions


def version_differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences, e.g. ["av 17.0.0 here, 18.1.0 in dataset.json"]; [] when they agree."""
    differences = []
    if "encoder" in expected and expected["encoder"] != actual.get("encoder"):
        differences.append(f"encoder {actual.get('encoder')!r} here, {expected['encoder']!r} in dataset.json")
    for name, wanted in sorted(expected.get("packages", {}).items()):
        have = actual.get("packages", {}).get(name, "absent")
        if have != wanted:
            differences.append(f"{name} {have} here, {wanted} in dataset.json")
    return differences


def check_versions(group: str, shard_index: int, expected: dict) -> None:
    """Raise VersionMismatch naming the host, group, shard and every difference; return when they agree."""
    differences = version_differences(expected, group_versions(group))
    if differences:
        raise VersionMismatch(
            f"{group}-{shard_index:06d} on {platform.node()}: {'; '.join(differences)}: {CONSTRAINTS_HINT}"
        )
