"""The settings the published models were trained with (recorded in every imported checkpoint)."""

from __future__ import annotations

from training.models.s3diff.settings import S3DiffSettings

# S3Diff's positive prompt (its training and inference default); the S3Diff SR model has no codec condition.
S3DIFF_PROMPT = "A high-resolution, 8K, ultra-realistic image with sharp focus, vibrant colors, and natural lighting."
# ... and its negative prompt and guidance scale (inference: neg + 1.07 x (pos - neg))
S3DIFF_NEGATIVE_PROMPT = (
    "oil painting, cartoon, blur, dirty, messy, low quality, deformation, low resolution, oversmooth"
)
S3DIFF_GUIDANCE_SCALE = 1.07


def official_vrpsr(degradation_input_scale: int = 1) -> S3DiffSettings:
    """VRPSR's S3DiffMetaEmbed: kB in prompt and vector, libx264/libx265/libx266, sampled latent.
    The DEResNet sees its input downscaled by `degradation_input_scale`; the official inference (sf 1)
    scores every model's input at its own size (1), which the importers record."""
    return S3DiffSettings(
        condition_units="official-kB", latent="sample", degradation_input_scale=degradation_input_scale
    )


def s3diff_baseline() -> S3DiffSettings:
    """Plain S3Diff as an SR model: no codec condition, its fixed prompts and guidance as in its inference."""
    return S3DiffSettings(
        modulation="none",
        prompt_template=S3DIFF_PROMPT,
        latent="sample",
        guidance_scale=S3DIFF_GUIDANCE_SCALE,
        negative_prompt=S3DIFF_NEGATIVE_PROMPT,
        degradation_input_scale=4,
    )
