"""Annex-B byte streams: split into NAL units, drop what decoding does not need, rewrite VVC headers.

A canonical picture bitstream here is: every NAL unit the decoder needs, each behind a 4-byte start
code, in encoder order. AUD and SEI NAL units are dropped (version/info SEI, access unit delimiters):
they are not needed to decode the picture and are not counted in its bits.
"""

from __future__ import annotations

from codec_bindings.errors import CodecError

START_CODE = b"\x00\x00\x00\x01"

# NAL unit types that decoding does not need, per bitstream format.
DROPPED_NAL_TYPES = {
    "h264": {6: "SEI", 9: "AUD"},
    "hevc": {35: "AUD", 39: "prefix SEI", 40: "suffix SEI"},
    "vvc": {20: "AUD", 23: "prefix SEI", 24: "suffix SEI"},
}
VVC_IDR_W_RADL, VVC_IDR_N_LP = 7, 8
VVC_AUD = 20


def split_nal_units(stream: bytes) -> list[bytes]:
    """NAL units (header + payload, no start code) of an Annex-B stream, in order."""
    starts = []
    position = stream.find(b"\x00\x00\x01")
    while position != -1:
        starts.append(position + 3)
        position = stream.find(b"\x00\x00\x01", position + 3)
    units = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(stream)
        unit = stream[start:end].rstrip(b"\x00") if index + 1 < len(starts) else stream[start:end]
        if unit:
            units.append(unit)
    return units


def nal_type(unit: bytes, bitstream_format: str) -> int:
    if bitstream_format == "h264":
        return unit[0] & 0x1F
    if bitstream_format == "hevc":
        return (unit[0] >> 1) & 0x3F
    if bitstream_format == "vvc":
        return (unit[1] >> 3) & 0x1F
    raise CodecError(f"unknown bitstream format {bitstream_format!r}")


def canonical_picture(units: list[bytes], bitstream_format: str) -> bytes:
    """Join the needed NAL units of one picture with 4-byte start codes."""
    dropped = DROPPED_NAL_TYPES[bitstream_format]
    kept = [unit for unit in units if nal_type(unit, bitstream_format) not in dropped]
    if not kept:
        raise CodecError(f"{bitstream_format} picture has no decodable NAL units")
    return b"".join(START_CODE + unit for unit in kept)


def split_vvc_pictures(stream: bytes) -> list[list[bytes]]:
    """Split a VVC stream written with access unit delimiters into per-picture NAL unit lists."""
    pictures: list[list[bytes]] = []
    for unit in split_nal_units(stream):
        if nal_type(unit, "vvc") == VVC_AUD or not pictures:
            pictures.append([])
        pictures[-1].append(unit)
    return [picture for picture in pictures if any(nal_type(u, "vvc") != VVC_AUD for u in picture)]


def _unescape(payload: bytes) -> bytearray:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00)."""
    out, zeros = bytearray(), 0
    for byte in payload:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return out


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _BitReader:
    def __init__(self, data: bytes, bit_position: int) -> None:
        self.data, self.position = data, bit_position

    def bit(self) -> int:
        value = (self.data[self.position >> 3] >> (7 - (self.position & 7))) & 1
        self.position += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def exp_golomb(self) -> int:
        leading = 0
        while self.bit() == 0:
            leading += 1
        return (1 << leading) - 1 + self.bits(leading)


def rewrite_vvc_as_first_picture(slice_unit: bytes, picture_order_count: int, poc_lsb_bits: int = 8) -> bytes:
    """Make the IDR slice of picture ``picture_order_count`` of a batched all-intra stream byte-identical
    to the same picture encoded alone: NAL type IDR_N_LP and picture order count 0.

    Only two fields differ between the two (checked in the tests against single-picture encodes): the NAL
    unit type and ph_pic_order_cnt_lsb of the picture header carried in the slice header.
    """
    kind = nal_type(slice_unit, "vvc")
    if kind not in (VVC_IDR_W_RADL, VVC_IDR_N_LP):
        raise CodecError(f"expected a VVC IDR slice, got NAL type {kind} (encoder not all-intra IDR?)")
    rbsp = _unescape(slice_unit)
    reader = _BitReader(rbsp, 16)
    picture_header_in_slice = reader.bit()
    irap_or_gdr = reader.bit()
    reader.bit()  # ph_non_ref_pic_flag
    if irap_or_gdr:
        reader.bit()  # ph_gdr_pic_flag
    inter_allowed = reader.bit()
    if inter_allowed:
        reader.bit()  # ph_intra_slice_allowed_flag
    reader.exp_golomb()  # ph_pic_parameter_set_id
    if not picture_header_in_slice or not irap_or_gdr:
        raise CodecError("VVC slice does not carry an IRAP picture header; cannot rewrite it")
    lsb_position = reader.position
    lsb = reader.bits(poc_lsb_bits)
    expected = picture_order_count % (1 << poc_lsb_bits)
    if lsb != expected:
        raise CodecError(f"VVC picture order count lsb {lsb} != expected {expected}: unexpected encoder layout")
    for offset in range(poc_lsb_bits):
        bit_index = lsb_position + offset
        rbsp[bit_index >> 3] &= ~(1 << (7 - (bit_index & 7))) & 0xFF
    rbsp[1] = (VVC_IDR_N_LP << 3) | (rbsp[1] & 0x07)
    return _escape(bytes(rbsp))
