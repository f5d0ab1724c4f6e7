"""x264, x265, vvenc, av1, jpeg and webp behind one small interface: encode, encode_many, decode, match_rate."""

from codec_bindings.api import CODEC_NAMES, CODECS, PAPER_CODECS, Codec, decode, encode, encode_many, get_codec
from codec_bindings.encoded import Encoded
from codec_bindings.errors import CodecError, CodecInputError
from codec_bindings.quality import psnr
from codec_bindings.rate import RateMatch, match_rate

__all__ = [
    "CODECS",
    "CODEC_NAMES",
    "Codec",
    "CodecError",
    "CodecInputError",
    "Encoded",
    "PAPER_CODECS",
    "RateMatch",
    "decode",
    "encode",
    "encode_many",
    "get_codec",
    "match_rate",
    "psnr",
]
