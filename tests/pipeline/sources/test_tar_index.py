"""The tar header index: the fast path for plain headers and tarfile for the rest give tarfile's own
members, offsets and sizes in every tar format; damage is raised with the byte, after the good members."""

from __future__ import annotations

import io
import tarfile

import pytest

from pipeline.sources.tar_index import ByteWindow, TarDamaged, iter_tar_entries

LONG = "n01440764/" + "a_rather_long_folder_name_" * 5 + "/image.JPEG"  # 150 characters: ustar prefix, pax, or GNU 'L'


def _archive(tar_format: int, names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        folder = tarfile.TarInfo("n01440764")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        link = tarfile.TarInfo("n01440764/link.JPEG")
        link.type, link.linkname = tarfile.SYMTYPE, "a.JPEG"
        archive.addfile(link)
        for index, name in enumerate(names):
            data = bytes([index % 251]) * (100 + 700 * index)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tarfile_view(data: bytes) -> list[tuple[str, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [(member.name, member.offset_data, member.size) for member in archive if member.isfile()]


@pytest.mark.parametrize(
    ("tar_format", "names"),
    [
        (tarfile.USTAR_FORMAT, ["n01440764/a.JPEG", "b.png", LONG]),  # LONG: split into the ustar prefix field
        (tarfile.GNU_FORMAT, ["n01440764/a.JPEG", LONG, "c.jpg"]),  # LONG: a GNU 'L' record, then plain headers
        (tarfile.PAX_FORMAT, ["n01440764/a.JPEG", "ünïcödé.jpg", LONG, "d.jpg"]),  # pax records
    ],
)
def test_index_matches_tarfile_in_every_format(tar_format: int, names: list[str]) -> None:
    data = _archive(tar_format, names)
    listed = list(iter_tar_entries(io.BytesIO(data), len(data), "t.tar"))
    entries = [(entry.name, entry.offset, entry.size) for entry in listed if not entry.link]
    assert entries == _tarfile_view(data)
    assert [(entry.name, entry.link) for entry in listed if entry.link] == [
        ("n01440764/link.JPEG", "symbolic link to a.JPEG")  # listed for a failure row, never followed
    ]
    assert [name for name, _, _ in entries] == names
    window = ByteWindow(io.BytesIO(b"x" * 1000 + data + b"y" * 77), 1000, len(data))  # an inner tar at byte 1000
    assert [(entry.name, entry.offset) for entry in iter_tar_entries(window, len(data), "t.tar") if not entry.link] == [
        (name, offset) for name, offset, _ in entries
    ]


@pytest.mark.parametrize("tar_format", [tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_damage_is_raised_after_the_good_members(tar_format: int) -> None:
    names = ["a.jpg", "ünï.jpg" if tar_format == tarfile.PAX_FORMAT else "b.jpg", "c.jpg", "d.jpg"]
    data = _archive(tar_format, names)
    members = _tarfile_view(data)
    bad = members[2][1] - 512  # c.jpg's header
    damaged = data[:bad] + b"\x05" * 512 + data[bad + 512 :]
    seen = []
    with pytest.raises(TarDamaged, match=f"t.tar: invalid tar header at byte {bad}"):
        for entry in iter_tar_entries(io.BytesIO(damaged), len(damaged), "t.tar"):
            seen.append(entry.name)
    assert seen == ["n01440764/link.JPEG", *names[:2]]
    cut = members[3][1] + 10  # inside d.jpg's data
    with pytest.raises(TarDamaged, match="t.tar: member d.jpg is truncated"):
        list(iter_tar_entries(io.BytesIO(data[:cut]), cut, "t.tar"))
    with pytest.raises(TarDamaged, match="t.tar: not a readable tar"):
        list(iter_tar_entries(io.BytesIO(b"not a tar" * 100), 900, "t.tar"))
    assert list(iter_tar_entries(io.BytesIO(b""), 0, "t.tar")) == []
