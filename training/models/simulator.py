"""The S3Diff backbone as the rate-target codec simulator X_hat' = f_theta(X', c) (and, in sr_s3diff.py, as g_phi).

The published S3Diff (SD-Turbo, one step at t = 999) with VRPSR's condition on top:
  1. DEResNet scores the input's degradation (2 scores; frozen), DegradationGuidance turns them into one
     r x r matrix per block, set between every LoRA A and B (UNet rank 32, VAE encoder rank 16);
  2. the prompt (from c, with the recorded template and codec names) goes through the frozen CLIP;
  3. c as a vector is embedded and modulates every UNet ResnetBlock2D (settings.embedding/modulation);
  4. VAE-encode, UNet, x0 from the scheduler's alpha_bar at t, VAE-decode, clamp to [-1, 1]. With
     settings.guidance_scale != 1 the UNet also runs on the negative prompt and the prediction is
     neg + scale x (pos - neg), as S3Diff's inference (scale 1.07); in train mode the forward is one pass
     on the prompt, as S3Diff's training forward.
Trainable, as in S3Diff: the LoRA factors, the UNet's conv_in, the de / block / fuse MLPs and block
embeddings; plus the condition MLPs. Saved weights (``trainable_state_dict``) also hold the frozen
parts that are not SD-Turbo's (DEResNet, the Fourier basis W), so a checkpoint is complete.
x0 is computed in closed form (clipped where the scheduler config says so); the published DDPM step at
t = 999 with one inference step is that x0 plus noise of std 1e-10.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from training.condition import condition_value, templated_prompts
from training.models.pretrained import resolve_pretrained
from training.models.s3diff.condition_path import build_condition_path
from training.models.s3diff.de_net import DEResNet
from training.models.s3diff.guidance import DegradationGuidance
from training.models.s3diff.lora import inject_lora, is_unet_target, is_vae_target, unet_block_index, vae_block_index
from training.models.s3diff.settings import S3DiffSettings
from training.trainable import load_trainable_state_dict, trainable_state_dict

SimulatorSettings = S3DiffSettings  # the name earlier code imports
__all__ = ["CodecSimulator", "SimulatorSettings", "predict_x0", "resolve_pretrained"]


class CodecSimulator(nn.Module):
    """f_theta(image in [-1, 1], condition B x 4 [one-hot, true bpp], prompts) -> output in [-1, 1]."""

    saved_frozen = ("degradation.fourier_basis", "degradation_estimator.")  # in checkpoints, though not trained

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: UNet2DConditionModel,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        scheduler: DDPMScheduler,
        settings: S3DiffSettings | None = None,
        degradation_estimator: nn.Module | None = None,
    ):
        super().__init__()
        self.settings = settings = settings or S3DiffSettings()
        self.vae, self.unet, self.text_encoder, self.tokenizer = vae, unet, text_encoder, tokenizer
        self.requires_grad_(False)
        self.unet_lora = inject_lora(unet, is_unet_target, settings.unet_lora_rank, settings.lora_alpha)
        self.vae_lora = inject_lora(vae, is_vae_target, settings.vae_lora_rank, settings.lora_alpha)
        self.degradation_estimator = (degradation_estimator or DEResNet()).requires_grad_(False).eval()
        self.degradation = DegradationGuidance(settings.vae_lora_rank, settings.unet_lora_rank)
        for wrapper in [*self.unet_lora.values(), *self.vae_lora.values()]:
            wrapper.guided = settings.degradation_guided
        if not settings.degradation_guided:
            self.degradation.requires_grad_(False)
        self.embedding, self.film = build_condition_path(
            unet, settings.embedding, settings.modulation, settings.dims_per_scalar, len(settings.codec_names) + 1
        )
        for name, parameter in self.named_parameters():
            if "lora_" in name or name.startswith(("unet.conv_in.", "film.")):
                parameter.requires_grad_(True)
        alpha_bar = scheduler.alphas_cumprod[settings.timestep].float()
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)
        self.prediction_type = scheduler.config.prediction_type
        clips = bool(getattr(scheduler.config, "clip_sample", False))  # what DDPMScheduler.step would do
        self.clip_sample_range = float(scheduler.config.clip_sample_range) if clips else None
        self.latent_scale = float(vae.config.scaling_factor)
        self.text_encoder.eval()

    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path, settings: S3DiffSettings | None = None) -> CodecSimulator:
        """SD-Turbo's parts from a local folder (or the hub cache); FileNotFoundError when absent. The
        S3Diff weights (LoRA, MLPs, DEResNet) come from a checkpoint loaded afterwards (import-checkpoint)."""
        path = resolve_pretrained(path_or_repo)
        return cls(
            AutoencoderKL.from_pretrained(path, subfolder="vae"),
            UNet2DConditionModel.from_pretrained(path, subfolder="unet"),
            CLIPTextModel.from_pretrained(path, subfolder="text_encoder"),
            CLIPTokenizer.from_pretrained(path, subfolder="tokenizer"),
            DDPMScheduler.from_pretrained(path, subfolder="scheduler"),
            settings,
        )

    @classmethod
    def from_configs(
        cls,
        vae_config: dict,
        unet_config: dict,
        text_config: CLIPTextConfig,
        tokenizer: CLIPTokenizer,
        scheduler_config: dict | None = None,
        settings: S3DiffSettings | None = None,
    ) -> CodecSimulator:
        """Randomly initialised parts from explicit configs (tests, tiny experiments)."""
        return cls(
            AutoencoderKL.from_config(vae_config),
            UNet2DConditionModel.from_config(unet_config),
            CLIPTextModel(text_config),
            tokenizer,
            DDPMScheduler.from_config(scheduler_config or {}),
            settings,
        )

    def train(self, mode: bool = True) -> CodecSimulator:
        """Train mode for the trainable parts; the frozen text encoder and DEResNet stay in eval mode."""
        super().train(mode)
        self.text_encoder.eval()
        self.degradation_estimator.eval()
        return self

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this (VAE and UNet downsampling)."""
        vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return vae_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """CLIP hidden states (B x tokens x dim) of the prompts; the text encoder is frozen."""
        tokens = self.tokenizer(
            prompts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        return self.text_encoder(tokens.input_ids.to(self.alpha_bar.device))[0]

    def model_condition(self, condition: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """[one-hot, true bpp] -> [one-hot, the rate in settings.condition_units] for a height x width picture."""
        value = condition_value(condition[:, -1], self.settings.condition_units, height, width)
        return torch.cat([condition[:, :-1], value[:, None]], dim=1)

    def prompts_for(self, condition: torch.Tensor, given: list[str] | None) -> list[str]:
        """The recorded template filled from c (in model units), or the caller's prompts with prompt_source
        "given". Empty prompts are always kept: they are the no-prompt ablation (Table 3 (c)), not a format."""
        if given is not None and (self.settings.prompt_source == "given" or not any(given)):
            return list(given)
        return templated_prompts(
            self.settings.prompt_template, self.settings.codec_names, condition[:, :-1], condition[:, -1]
        )

    @torch.no_grad()
    def degradation_scores(self, image: torch.Tensor) -> torch.Tensor:
        """DEResNet's 2 scores of the input in [0, 1] (downscaled by settings.degradation_input_scale)."""
        picture = (image.float() + 1) / 2
        if self.settings.degradation_input_scale > 1:
            picture = F.interpolate(picture, scale_factor=1 / self.settings.degradation_input_scale, mode="area")
        return self.degradation_estimator(picture.to(next(self.degradation_estimator.parameters()).dtype))

    def set_degradation(self, scores: torch.Tensor) -> None:
        """Put each block's r x r matrix into its LoRA layers (what S3Diff's forward does first)."""
        vae_matrices, unet_matrices = self.degradation(scores)
        for name, wrapper in self.vae_lora.items():
            wrapper.set_modulation(vae_matrices[:, vae_block_index(name)])
        for name, wrapper in self.unet_lora.items():
            wrapper.set_modulation(unet_matrices[:, unet_block_index(name)])

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        """image: B x 3 x H x W in [-1, 1]; condition: B x 4 ([one-hot, true bpp])."""
        multiple = self.size_multiple
        if image.shape[-1] % multiple or image.shape[-2] % multiple:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be a multiple of {multiple}")
        condition = self.model_condition(condition.float(), image.shape[-2], image.shape[-1])
        text = self.encode_prompts(self.prompts_for(condition, prompts))
        if self.settings.degradation_guided:
            self.set_degradation(self.degradation_scores(image))
        if self.film is not None:
            self.film.set_condition(self.embedding(condition))
        posterior = self.vae.encode(image).latent_dist
        latent = (posterior.sample() if self.settings.latent == "sample" else posterior.mode()) * self.latent_scale
        timestep = torch.full((image.shape[0],), self.settings.timestep, device=image.device, dtype=torch.long)
        prediction = self.unet(latent, timestep, encoder_hidden_states=text.to(latent.dtype)).sample
        if self.settings.guidance_scale != 1.0 and not self.training:  # inference only, as S3Diff
            negative = self.encode_prompts([self.settings.negative_prompt] * image.shape[0])
            unguided = self.unet(latent, timestep, encoder_hidden_states=negative.to(latent.dtype)).sample
            prediction = unguided + self.settings.guidance_scale * (prediction - unguided)
        latent_x0 = predict_x0(prediction, latent, self.alpha_bar, self.prediction_type)
        if self.clip_sample_range is not None:
            latent_x0 = latent_x0.clamp(-self.clip_sample_range, self.clip_sample_range)
        return self.vae.decode(latent_x0 / self.latent_scale).sample.clamp(-1, 1)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changes (LoRA, conv_in, MLPs, block embeddings, condition MLPs) plus the frozen
        non-SD-Turbo parts declared in ``saved_frozen`` (DEResNet, Fourier basis), keyed by name."""
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a `trainable_state_dict`; the key sets must match exactly."""
        load_trainable_state_dict(self, state)

    def save_trainable(self, path: str | Path) -> None:
        save_file(self.trainable_state_dict(), str(path))

    def load_trainable(self, path: str | Path) -> None:
        self.load_trainable_state_dict(load_file(str(path)))


def predict_x0(
    prediction: torch.Tensor, latent: torch.Tensor, alpha_bar: torch.Tensor, prediction_type: str
) -> torch.Tensor:
    """x0 from the UNet output at one timestep: epsilon, v_prediction or sample parameterisation."""
    alpha_bar = alpha_bar.to(latent.dtype)
    if prediction_type == "epsilon":
        return (latent - (1 - alpha_bar).sqrt() * prediction) / alpha_bar.sqrt()
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * latent - (1 - alpha_bar).sqrt() * prediction
    if prediction_type == "sample":
        return prediction
    raise ValueError(f"unsupported scheduler prediction_type {prediction_type!r}")
