"""The paper's evaluation protocol (eq. 1-2; Table 1, S1-S4) over a folder of images.

For each image (images.py): clean X, degraded X̃, X̃ upsampled to the output size. For each codec and setting:
  qp mode:  encode the upsampled X̃ at QP q -> target size R̄ (bits) and condition bpp = R̄ / pixels;
            each model: SR = model(input, codec, bpp); X̂ = SR rate-matched to R̄ (QP search, checked to be
            within one QP step, matching.py); optional post-processing; metrics of X̂ against X.
  crf mode: encode the upsampled X̃ at CRF c -> condition bpp; SR = model(input, codec, bpp); X̂ = SR encoded
            at the same CRF (no matching); metrics as above.
Optionally colours are corrected toward the upsampled X̃ (color_fix.py), on the decoded X̂ (the official
VRPSR evaluation) or on the SR output before encoding. The bpp in every row is the size of X̂'s own
bitstream. Identical SR outputs (e.g. identity and bicubic) are encoded and measured once. Plain data out:
rows (one per image, model, codec, setting), FID per group, side-by-side crops.

One odd picture never ends a run: a point whose rate no QP matches within one step, or a model that raises
on one picture, is a row of `left_out` (the image, the closest QP and its rate, or the error) and is left out
of the means, t-tests and BD-rate; the tables count them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from codec_bindings import Encoded, encode, get_codec
from evaluation.color_fix import color_fix
from evaluation.config import EvalConfig
from evaluation.fid import frechet_distance
from evaluation.images import EvalImage, list_images, prepare_image
from evaluation.matching import match_within_one_qp
from evaluation.metrics import MetricSuite
from evaluation.models import PictureFunction, checked_picture
from evaluation.pixel_metrics import psnr_y


@dataclass
class CropSet:
    """Centre crops of one image at one codec and setting: the target and, per model, SR / real codec / simulator."""

    image: str
    codec: str
    setting: float
    box: tuple[int, int, int]  # top, left, size
    clean: np.ndarray
    pictures: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # model -> {"sr", "codec", "simulator"}


@dataclass
class EvalResult:
    config: EvalConfig
    models: list[str]
    rows: list[dict]
    fid: dict[tuple[str, str, float], float]
    crops: list[CropSet]
    metrics: list[str]  # the metrics computed
    unavailable: dict[str, str]  # metric -> why it was not computed
    provenance: dict[str, dict]
    encoders: dict[str, dict]  # codec -> encoder name, version, preset, colour handling (from the first encode)
    seconds: float
    left_out: list[dict] = field(default_factory=list)  # unmatched rates and model errors, one row each


def _digest(picture: np.ndarray) -> str:
    return hashlib.sha1(picture.tobytes()).hexdigest()


def _encode_setting(picture: np.ndarray, codec: str, config: EvalConfig, setting: float) -> Encoded:
    rate = {get_codec(codec).rate_parameter: int(setting)} if config.mode == "qp" else {"crf": float(setting)}
    return encode(picture, codec, preset=config.preset_for(codec), threads=config.threads, **rate)


def _crop(picture: np.ndarray, box: tuple[int, int, int]) -> np.ndarray:
    top, left, size = box
    return picture[top : top + size, left : left + size].copy()


def _code_output(sr: np.ndarray, target: Encoded, codec: str, config: EvalConfig, setting: float, label: str) -> dict:
    """X̂ of one SR output: rate-matched (qp mode) or encoded at the same CRF; the row's rate columns."""
    if config.mode == "qp":
        matched = match_within_one_qp(
            sr, codec, target.bits, label=label, preset=config.preset_for(codec), threads=config.threads
        )
        encoded, extra = (
            matched.encoded,
            {
                "encodes": matched.encodes,
                "neighbour_qp": matched.neighbour_qp,
                "neighbour_bits": matched.neighbour_bits,
                "unmatched": matched.unmatched,
            },
        )
    else:
        encoded, extra = (
            _encode_setting(sr, codec, config, setting),
            {"encodes": 1, "neighbour_qp": None, "neighbour_bits": None, "unmatched": ""},
        )
    return {
        "encoded": encoded,
        "bits": encoded.bits,
        "bpp": encoded.bpp,
        "qp": encoded.qp if encoded.quality is None else encoded.quality,  # the codec's parameter (quality: jpeg/webp)
        "sha256": encoded.params["sha256"],
        "rate_error_pct": 100.0 * (encoded.bits - target.bits) / target.bits,
        **extra,
    }


def evaluate(
    config: EvalConfig,
    models: Mapping[str, object],
    metrics: MetricSuite,
    *,
    simulator: PictureFunction | None = None,
    postprocess: PictureFunction | None = None,
    storage_options: dict | None = None,
    progress: bool = True,
    started: float | None = None,
) -> EvalResult:
    """Run the protocol for every model in `models` (name -> model); see the module docstring. The run time is
    measured from ``started`` (a time.perf_counter() value) when given, so that the caller's loading counts."""
    started = time.perf_counter() if started is None else started
    items = list_images(config.data, config.limit, storage_options)
    rows: list[dict] = []
    features: dict[tuple[str, str, float], list[np.ndarray]] = {}
    reference_features: list[np.ndarray] = []
    crops: list[CropSet] = []
    left_out: list[dict] = []
    encoders: dict[str, dict] = {}
    crop_setting = {codec: config.settings_for(codec)[len(config.settings_for(codec)) // 2] for codec in config.codecs}
    iterator = items
    if progress:
        from tqdm import tqdm

        iterator = tqdm(items, desc="eval", unit="image")
    for index, item in enumerate(iterator):
        image = prepare_image(item, config.size, config.degradation, config.scale, config.seed, storage_options)
        if metrics.fid_features is not None:
            reference_features.append(metrics.fid_features(image.clean))
        _evaluate_image(
            image,
            index,
            config,
            models,
            metrics,
            simulator,
            postprocess,
            rows,
            features,
            crops,
            encoders,
            crop_setting,
            left_out,
        )
    fid = {key: frechet_distance(group, reference_features) for key, group in features.items() if len(group) >= 2}
    return EvalResult(
        config,
        list(models),
        rows,
        fid,
        crops,
        metrics.names,
        dict(metrics.unavailable),
        dict(metrics.provenance),
        encoders,
        time.perf_counter() - started,
        left_out,
    )


def _evaluate_image(
    image: EvalImage,
    index: int,
    config: EvalConfig,
    models: Mapping[str, object],
    metrics: MetricSuite,
    simulator: PictureFunction | None,
    postprocess: PictureFunction | None,
    rows: list[dict],
    features: dict,
    crops: list[CropSet],
    encoders: dict,
    crop_setting: dict[str, float],
    left_out: list[dict],
) -> None:
    shape = image.clean.shape
    size = config.crop_size if config.crop_size <= min(shape[:2]) else min(shape[:2])
    box = ((shape[0] - size) // 2, (shape[1] - size) // 2, size)
    done: dict[tuple, dict] = {}  # (codec, setting, SR digest) -> coded + measured (identical outputs once)
    for codec in config.codecs:
        for setting in config.settings_for(codec):
            target = _encode_setting(image.upsampled, codec, config, setting)
            encoders.setdefault(
                codec,
                {
                    k: target.params.get(k)
                    for k in ("encoder", "encoder_version", "preset", "options", "threads", "color")
                },
            )
            crop_set = None
            if index < config.crop_images and setting == crop_setting[codec]:
                crop_set = CropSet(image.name, codec, setting, box, _crop(image.clean, box))
                crops.append(crop_set)
            for name, model in models.items():
                label = f"{image.name} {codec} {config.mode} {setting} model {name}"
                point = {"image": image.name, "model": name, "codec": codec, "setting": setting}
                model_input = image.upsampled if model.input_scale == 1 else image.lq  # type: ignore[attr-defined]
                try:
                    sr = checked_picture(model(model_input, codec, target.bpp), shape, f"{label}: the model")  # type: ignore[operator]
                except Exception as error:  # one picture a model fails on is recorded; the run goes on
                    left_out.append({**point, "target_bits": target.bits, "reason": f"{type(error).__name__}: {error}"})
                    continue
                if config.color_fix_at == "sr":
                    sr = color_fix(sr, image.upsampled, config.color_fix)
                key = (codec, setting, _digest(sr))
                if key not in done:
                    coded = _code_output(sr, target, codec, config, setting, label)
                    if coded["unmatched"]:
                        done[key] = coded
                if key not in done:
                    decoded = coded["encoded"].recon
                    if postprocess is not None:
                        decoded = checked_picture(
                            postprocess(decoded, codec, coded["bpp"]), shape, f"{label}: post-processing"
                        )
                    if config.color_fix_at == "decoded":
                        decoded = color_fix(decoded, image.upsampled, config.color_fix)
                    coded["decoded"] = decoded
                    coded["metrics"] = metrics.measure(decoded, image.clean)
                    coded["features"] = metrics.fid_features(decoded) if metrics.fid_features is not None else None
                    done[key] = coded
                coded = done[key]
                if coded["unmatched"]:
                    left_out.append(
                        {
                            **point,
                            "target_bits": target.bits,
                            "qp": coded["qp"],
                            "bits": coded["bits"],
                            "bpp": coded["bpp"],
                            "reason": coded["unmatched"],
                        }
                    )
                    continue
                if coded["features"] is not None:
                    features.setdefault((name, codec, setting), []).append(coded["features"])
                rows.append(
                    {
                        "image": image.name,
                        "model": name,
                        "codec": codec,
                        "mode": config.mode,
                        "setting": setting,
                        "target_bits": target.bits,
                        "target_bpp": target.bpp,
                        "condition_bpp": target.bpp,
                        "bits": coded["bits"],
                        "bpp": coded["bpp"],
                        "qp": coded["qp"],
                        "rate_error_pct": coded["rate_error_pct"],
                        "neighbour_qp": coded["neighbour_qp"],
                        "neighbour_bits": coded["neighbour_bits"],
                        "encodes": coded["encodes"],
                        "sha256": coded["sha256"],
                        "sr_psnr_y": psnr_y(sr, image.clean),
                        **coded["metrics"],
                    }
                )
                if crop_set is not None:
                    pictures = {"sr": _crop(sr, box), "codec": _crop(coded["decoded"], box)}
                    if simulator is not None:
                        simulated = checked_picture(simulator(sr, codec, target.bpp), shape, f"{label}: the simulator")
                        pictures["simulator"] = _crop(simulated, box)
                    crop_set.pictures[name] = pictures
