"""Codec benchmark: ms per picture, bpp and PSNR per QP on 512x512 Kodak crops, against the naive way;
then every codec (x264, x265, vvenc, av1, jpeg, webp) at matched rates.

The naive way is what users do today: one ffmpeg process per picture, PNG in, bitstream file out.
Ours is split into: colour conversion + padding (ours), encode (the library), decode of the recon,
and bookkeeping (hashing, params). The matched-rate table rate-matches each picture to each target bpp
by the codec's own parameter (QP, or quality for jpeg/webp; codec_bindings.match_rate) and reports the
parameter reached, the bpp, the PSNR and the ms of one encode() there (encode + decode + bookkeeping).
Run: python -m benchmarks.codecs --kodak ../shared/data/kodak
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from codec_bindings import CODEC_NAMES, encode, encode_many, get_codec, match_rate, psnr
from codec_bindings.decoder import decode_yuv420
from codec_bindings.yuv import pad_to, padded_size, rgb_to_yuv420, yuv420_to_rgb

NAIVE_ARGUMENTS = {
    "x264": [
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-qp",
        "{qp}",
        "-x264-params",
        "keyint=1:ipratio=1.0:threads=1",
        "-f",
        "h264",
    ],
    "x265": [
        "-c:v",
        "libx265",
        "-preset",
        "medium",
        "-x265-params",
        "qp={qp}:keyint=1:ipratio=1.0:pools=1:info=0:log-level=error",
        "-f",
        "hevc",
    ],
    "vvenc": [
        "-c:v",
        "libvvenc",
        "-preset",
        "faster",
        "-qp",
        "{qp}",
        "-qpa",
        "0",
        "-g",
        "1",
        "-threads",
        "1",
        "-vvenc-params",
        "IntraQPOffset=0:MCTF=0:BIM=0:ALFSpeed=0:MaxParallelFrames=0:DecodingRefreshType=2",
        "-f",
        "vvc",
    ],
}


def kodak_crops(folder: Path, count: int, size: int = 512) -> list[np.ndarray]:
    crops = []
    for path in sorted(folder.glob("*.png"))[:count]:
        image = cv2.imread(str(path))[:, :, ::-1]
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        crops.append(np.ascontiguousarray(image[top : top + size, left : left + size]))
    return crops


def time_ours(images: list[np.ndarray], codec: str, qp: int) -> dict:
    spec = get_codec(codec)
    split = {"convert_pad": [], "encode": [], "decode": [], "bookkeeping": []}
    bpps, psnrs = [], []
    for image in images:
        start = time.perf_counter()
        planes = rgb_to_yuv420(pad_to(image, *padded_size(*image.shape[:2], spec.size_multiple, spec.min_size)))
        converted = time.perf_counter()
        bitstream, _ = spec.encode_yuv(planes, qp=qp, crf=None, preset=spec.default_preset, threads=1)
        encoded = time.perf_counter()
        recon = yuv420_to_rgb(decode_yuv420(bitstream, spec.decoder_name, spec.decoder_options))[
            : image.shape[0], : image.shape[1]
        ]
        decoded = time.perf_counter()
        hashlib.sha256(bitstream).hexdigest()
        done = time.perf_counter()
        for key, value in zip(split, (converted - start, encoded - converted, decoded - encoded, done - decoded)):
            split[key].append(value * 1000)
        bpps.append(8 * len(bitstream) / (image.shape[0] * image.shape[1]))
        psnrs.append(psnr(image, recon))
    row = {key: statistics.mean(values) for key, values in split.items()}
    row.update(bpp=statistics.median(bpps), psnr=statistics.mean(psnrs))
    return row


def time_naive(images: list[np.ndarray], codec: str, qp: int) -> float:
    """ms per picture for one ffmpeg process per picture, PNG in, file out."""
    with tempfile.TemporaryDirectory() as folder:
        pngs = []
        for index, image in enumerate(images):
            pngs.append(Path(folder) / f"{index}.png")
            cv2.imwrite(str(pngs[-1]), image[:, :, ::-1])
        start = time.perf_counter()
        for png in pngs:
            arguments = [a.format(qp=qp) for a in NAIVE_ARGUMENTS[codec]]
            command = [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                str(png),
                "-pix_fmt",
                "yuv420p10le" if codec == "vvenc" else "yuv420p",
                *arguments,
                "-y",
                str(png) + ".bin",
            ]
            subprocess.run(command, check=True, capture_output=True)
        return (time.perf_counter() - start) * 1000 / len(pngs)


def time_vvenc_batched(images: list[np.ndarray], qp: int) -> float:
    start = time.perf_counter()
    encode_many(images, "vvenc", [qp])
    return (time.perf_counter() - start) * 1000 / len(images)


def time_vvenc_one_process_each(images: list[np.ndarray], qp: int) -> float:
    start = time.perf_counter()
    for image in images:
        encode(image, "vvenc", qp=qp)
    return (time.perf_counter() - start) * 1000 / len(images)


def matched_rates(images: list[np.ndarray], codec: str, target_bpp: float) -> dict:
    """Each picture rate-matched to target_bpp by the codec's parameter: the values reached, mean bpp, PSNR, ms."""
    spec, values, bpps, psnrs, times = get_codec(codec), [], [], [], []
    for image in images:
        match = match_rate(image, codec, max(1, round(target_bpp * image.shape[0] * image.shape[1])))
        value = match.encoded.rate_value
        start = time.perf_counter()
        again = encode(image, codec, **{spec.rate_parameter: value})
        times.append((time.perf_counter() - start) * 1000)
        values.append(value)
        bpps.append(again.bpp)
        psnrs.append(psnr(image, again.recon))
    return {
        "values": f"{min(values)}-{max(values)}" if min(values) != max(values) else str(values[0]),
        "bpp": statistics.mean(bpps),
        "psnr": statistics.mean(psnrs),
        "ms": statistics.mean(times),
    }


def print_matched_rates(images: list[np.ndarray], codecs: list[str], targets: list[float]) -> None:
    print(f"\nmatched rates ({len(images)} crops; parameter range reached; ms of one encode incl. decode)")
    print(f"{'codec':6} {'param':>7} {'target':>6} {'value':>7} {'bpp':>6} {'psnr':>6} {'ms':>8}")
    for codec in codecs:
        for target in targets:
            row = matched_rates(images, codec, target)
            print(
                f"{codec:6} {get_codec(codec).rate_parameter:>7} {target:6.3f} {row['values']:>7} {row['bpp']:6.3f} "
                f"{row['psnr']:6.2f} {row['ms']:8.1f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--codecs", default=",".join(CODEC_NAMES))
    parser.add_argument("--qps", default="27,32,37,42,47", help="the per-QP table (codecs with a naive command)")
    parser.add_argument("--targets", default="0.1,0.2,0.4,0.8", help="bpp targets of the matched-rate table")
    parser.add_argument("--no-qp-table", action="store_true", help="only the matched-rate table")
    args = parser.parse_args(argv)
    images = kodak_crops(args.kodak, args.images)
    if not images:
        raise SystemExit(f"no Kodak PNGs in {args.kodak}")
    qps = [int(q) for q in args.qps.split(",")]
    print(f"{len(images)} Kodak 512x512 crops, one thread per encoder; ms per picture")
    print(
        f"{'codec':6} {'qp':>3} {'bpp':>6} {'psnr':>6} {'conv+pad':>8} {'encode':>8} {'decode':>7} {'book':>5} "
        f"{'ours%enc':>8} {'naive':>7} {'speedup':>7}"
    )
    codecs = args.codecs.split(",")
    for codec in codecs if not args.no_qp_table else ():
        if codec not in NAIVE_ARGUMENTS:
            continue
        for qp in qps:
            row = time_ours(images, codec, qp)
            naive = time_naive(images, codec, qp)
            ours_total = row["convert_pad"] + row["encode"] + row["decode"] + row["bookkeeping"]
            own_share = 100 * (row["convert_pad"] + row["bookkeeping"]) / row["encode"]
            print(
                f"{codec:6} {qp:>3} {row['bpp']:6.3f} {row['psnr']:6.2f} {row['convert_pad']:8.2f} {row['encode']:8.1f} "
                f"{row['decode']:7.2f} {row['bookkeeping']:5.2f} {own_share:7.1f}% {naive:7.1f} {naive / ours_total:6.2f}x"
            )
        if codec == "vvenc":
            qp = qps[len(qps) // 2]
            batched, single = time_vvenc_batched(images, qp), time_vvenc_one_process_each(images, qp)
            print(
                f"vvenc qp {qp}: batched {batched:.1f} ms/picture, one process per picture {single:.1f} ms -> {single / batched:.2f}x"
            )
    print_matched_rates(images, codecs, [float(t) for t in args.targets.split(",")])


if __name__ == "__main__":
    main()
