from __future__ import annotations

import re
import time

from vrpsr_cli.main import main


def test_vrpsr_eval_end_to_end(photo_dir, tmp_path, capsys):
    out = tmp_path / "results"
    began = time.perf_counter()
    code = main(
        [
            "eval",
            "--data",
            str(photo_dir),
            "--out",
            str(out),
            "--model",
            "bicubic",
            "--model",
            "py:tests.evaluation.plugins:sharpen",
            "--baseline",
            "identity",
            "--codecs",
            "x264",
            "--qps",
            "32,42",
            "--size",
            "128",
            "--limit",
            "2",
            "--metrics",
            "psnr_y,ssim_y,lpips_alex",
            "--weights-dir",
            str(tmp_path),
            "--simulator",
            "py:tests.evaluation.plugins:fake_simulator",
            "--no-progress",
        ]
    )
    elapsed = time.perf_counter() - began
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "unavailable" not in captured.err  # said once, in the summary printed at the end
    assert (captured.out + captured.err).count(
        "missing torchvision AlexNet"
    ) == 1 and "--metrics psnr_y,ssim_y" in captured.out
    reported = re.search(r"results in .* \((\d+\.\d) s, the report included\)", captured.out)
    # the command's own clock covers nearly all of main() (argument parsing and the final prints are outside it)
    assert reported and 0.5 * elapsed <= float(reported[1]) <= elapsed + 0.05, (captured.out[-300:], elapsed)
    summary_time = re.search(r"Run time (\d+\.\d) s\.", captured.out)  # everything but writing the report
    assert summary_time and 0.0 < float(summary_time[1]) <= float(reported[1]), (summary_time, elapsed)
    summary = (out / "summary.md").read_text()
    assert "**BDBR py:tests.evaluation.plugins:sharpen vs identity**" in summary
    assert "**lpips_alex unavailable**" in summary and "| n/a |" in summary
    assert (out / "run.json").is_file() and (out / "crops" / "astronaut_x264_qp42.png").is_file()


def test_vrpsr_eval_on_the_new_codecs(photo_dir, tmp_path, capsys):
    out = tmp_path / "results"
    arguments = ["eval", "--data", str(photo_dir), "--out", str(out), "--model", "bicubic", "--baseline", "identity"]
    arguments += ["--codecs", "jpeg,webp,av1", "--qps", "40,50", "--qualities", "30,70", "--size", "64"]
    arguments += ["--limit", "1", "--metrics", "psnr_y", "--weights-dir", str(tmp_path), "--no-progress"]
    code = main(arguments)
    assert code == 0, capsys.readouterr().err
    summary = (out / "summary.md").read_text()
    for heading in ("## jpeg (baseline)", "## webp (4)", "## av1 (8)"):
        assert heading in summary
    assert "| Model | quality | bpp |" in summary and "| Model | QP | bpp |" in summary
    assert main([*arguments, "--qualities", "0,50"]) == 2
    assert "jpeg: qualities [0, 50] not within 1..100" in capsys.readouterr().err


def test_vrpsr_eval_errors(photo_dir, tmp_path, capsys):
    assert (
        main(["eval", "--data", str(photo_dir), "--out", str(tmp_path), "--model", "esrgan", "--codecs", "x264"]) == 2
    )
    assert "unknown model 'esrgan'" in capsys.readouterr().err
    assert main(["eval", "--data", str(photo_dir), "--out", str(tmp_path), "--model", "bicubic", "--mode", "crf"]) == 2
    assert "vvenc has no CRF mode" in capsys.readouterr().err
