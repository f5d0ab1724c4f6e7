"""The one exception type of codec_bindings."""


class CodecError(Exception):
    """An encode/decode failed or was asked something impossible; the message names the input and why."""


class CodecInputError(CodecError, ValueError):
    """The caller passed something no codec can take (wrong dtype/shape, QP out of range, unknown codec...)."""
