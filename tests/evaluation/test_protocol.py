"""The whole protocol on real photographs: x264 on two images, all three codecs on one, CRF mode."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from codec_bindings import decode, encode
from evaluation import EvalConfig, evaluate, resolve_model, resolve_simulator, write_report
from evaluation.images import list_images, prepare_image
from pipeline.config import FactoryConfig
from pipeline.sample import make_base_sample
from shards.layout import LQ_SUFFIX
from shards.png import decode_png


def _row(rows, model, codec, setting, image=None):
    return [
        r
        for r in rows
        if r["model"] == model
        and r["codec"] == codec
        and r["setting"] == setting
        and (image is None or r["image"] == image)
    ]


def test_x264_two_images_rates_tables_and_plots(small_config, pixel_suite, baseline_models, tmp_path):
    config = small_config()
    simulator = resolve_simulator("py:tests.evaluation.plugins:fake_simulator")
    result = evaluate(config, baseline_models, pixel_suite, simulator=simulator, progress=False)
    assert len(result.rows) == 2 * 3 * 2  # images x models x QPs
    images = {r["image"] for r in result.rows}
    for row in result.rows:
        if row["model"] in ("identity", "bicubic"):  # their output is the picture that defined R̄
            assert row["qp"] == row["setting"] and row["bits"] == row["target_bits"] and row["neighbour_qp"] is None
        else:  # within one QP step of R̄: the neighbour's size is on the other side of the target
            assert abs(row["neighbour_qp"] - row["qp"]) == 1
            assert (
                min(row["bits"], row["neighbour_bits"]) <= row["target_bits"] <= max(row["bits"], row["neighbour_bits"])
            )
        assert row["bpp"] == row["bits"] / (128 * 128)
    # the bpp column comes from the real bitstream: re-encode the nearest model's output and compare
    image = prepare_image(list_images(config.data, limit=1)[0], 128, "s3diff", 4, 0)
    row = _row(result.rows, "nearest", "x264", 42, image.name)[0]
    again = encode(baseline_models["nearest"](image.lq, "x264", row["condition_bpp"]), "x264", qp=row["qp"])
    assert (again.bits, again.params["sha256"]) == (row["bits"], row["sha256"])
    assert len(decode(again.bitstream, "x264")) > 0
    identity, bicubic = _row(result.rows, "identity", "x264", 32), _row(result.rows, "bicubic", "x264", 32)
    assert [r["sha256"] for r in identity] == [r["sha256"] for r in bicubic]

    paths = write_report(result, tmp_path / "results", baseline="identity")
    with open(paths["per_image"], newline="") as stream:
        assert len(list(csv.DictReader(stream))) == len(result.rows)
    with open(paths["bd_rate"], newline="") as stream:
        bd = {(r["model"], r["metric"]): r for r in csv.DictReader(stream)}
    assert float(bd[("bicubic", "psnr_y")]["bd_rate_pct"]) == 0.0  # identical outputs: a self-comparison
    summary = paths["summary"].read_text()
    assert "| Model | QP | bpp | PSNR-Y (dB) | PSNR-RGB (dB) | SSIM-Y | SSIM-RGB |" in summary
    assert "**BDBR bicubic vs identity**" in summary and "+0.00 %" in summary
    assert "BT.601 limited-range luma" in summary and "pchip" in summary
    assert paths["rd_x264_psnr_y"].stat().st_size > 1000
    crops = [p for key, p in paths.items() if key.startswith("crop_")]
    assert len(crops) == 1 and crops[0].name == "astronaut_x264_qp42.png"  # first image, middle QP
    assert set(result.crops[0].pictures["bicubic"]) == {"sr", "codec", "simulator"}
    assert images == {"astronaut.png", "chelsea.png"}


def test_all_three_codecs_on_one_image(small_config, pixel_suite, tmp_path):
    config = small_config(codecs=("x264", "x265", "vvenc"), qps=(37, 47), limit=1, crop_images=0)
    models = {spec: resolve_model(spec, 4) for spec in ("identity", "nearest")}
    result = evaluate(config, models, pixel_suite, progress=False)
    assert {r["codec"] for r in result.rows} == {"x264", "x265", "vvenc"} and len(result.rows) == 3 * 2 * 2
    for row in result.rows:
        assert row["model"] != "identity" or row["qp"] == row["setting"]
        assert row["neighbour_qp"] is None or min(row["bits"], row["neighbour_bits"]) <= row["target_bits"] <= max(
            row["bits"], row["neighbour_bits"]
        )
    assert result.encoders["vvenc"]["encoder"] == "libvvenc"
    paths = write_report(result, tmp_path, baseline="identity")
    assert {f"rd_{codec}_ssim_y" for codec in config.codecs} <= set(paths)


def test_crf_mode(small_config, pixel_suite):
    config = small_config(mode="crf", crfs=(28.0, 38.0), limit=1, crop_images=0)
    models = {spec: resolve_model(spec, 4) for spec in ("identity", "bicubic")}
    result = evaluate(config, models, pixel_suite, progress=False)
    for row in result.rows:
        assert row["mode"] == "crf" and row["qp"] is None and row["encodes"] == 1
        assert row["condition_bpp"] == row["target_bpp"] == row["target_bits"] / (128 * 128)
    identity = _row(result.rows, "identity", "x264", 28.0)[0]
    assert identity["bits"] == identity["target_bits"]  # the same picture at the same CRF
    with pytest.raises(ValueError, match="vvenc has no CRF mode"):
        EvalConfig(data=config.data, codecs=("vvenc",), mode="crf")


def test_low_quality_input_equals_the_factory(photo_dir, tmp_path):
    item = list_images(str(photo_dir), limit=1)[0]
    factory = FactoryConfig(source=str(photo_dir), out=str(tmp_path), size=128, degradation="s3diff", scale=4, seed=3)
    members = make_base_sample(item, "000000", factory, None)
    ours = prepare_image(item, 128, "s3diff", 4, 3)
    assert np.array_equal(decode_png(members[LQ_SUFFIX], "lq"), ours.lq)


def test_a_bad_model_output_is_recorded_naming_the_sample(small_config, pixel_suite):
    models = {
        "identity": resolve_model("identity", 4),
        "wrong": resolve_model("py:tests.evaluation.plugins:wrong_size", 4),
    }
    result = evaluate(small_config(limit=1), models, pixel_suite, progress=False)
    assert {row["model"] for row in result.rows} == {"identity"}
    wrong = [row for row in result.left_out if row["model"] == "wrong"]
    assert len(wrong) == 2 and wrong[0]["image"] == "astronaut.png"
    assert "astronaut.png x264 qp 32 model wrong: the model returned uint8 (127, 128, 3)" in wrong[0]["reason"]


class FailsOnFirstPicture:
    """A model that raises on the first picture it is given (as a real one may run out of memory once)."""

    input_scale = 1

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("CUDA out of memory")
        return image


class FlatGrey:
    """Output smoother than any QP of the target rate allows: x264 at QP 0 stays below R̄ (issue 23)."""

    input_scale = 1

    def __call__(self, image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        return np.full_like(image, 128)


def test_unmatched_rates_and_model_errors_are_recorded_and_the_run_goes_on(small_config, pixel_suite, tmp_path):
    """`x264 cannot reach the target ... QP 0 (the end of the range)` used to end the evaluation with rc 2."""
    models = {"identity": resolve_model("identity", 4), "flat": FlatGrey(), "flaky": FailsOnFirstPicture()}
    result = evaluate(small_config(), models, pixel_suite, progress=False)
    flat = [row for row in result.left_out if row["model"] == "flat"]
    assert len(flat) == 2 * 2  # images x QPs: no rate of a flat picture reaches R̄
    assert all(
        row["qp"] == 0 and row["bits"] < row["target_bits"] and "QP 0 (the end of the range)" in row["reason"]
        for row in flat
    )
    flaky = [row for row in result.left_out if row["model"] == "flaky"]
    assert len(flaky) == 1 and flaky[0]["image"] == "astronaut.png" and "CUDA out of memory" in flaky[0]["reason"]
    assert len([row for row in result.rows if row["model"] == "flaky"]) == 2 * 2 - 1  # the run went on
    assert len([row for row in result.rows if row["model"] == "identity"]) == 2 * 2
    paths = write_report(result, tmp_path / "report", baseline="identity")
    summary = paths["summary"].read_text()
    assert "Left out of the means, t-tests and BDBR: 5 points (4 whose rate no QP matches" in summary
    assert "1 the model failed on" in summary
    assert len(list(csv.DictReader(paths["left_out"].open()))) == 5
