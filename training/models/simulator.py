"""The S3Diff-style rate-target codec simulator X_hat' = f_theta(X', c) on SD-Turbo.

One step at t = 999: VAE-encode the image, predict the noise (or v) with the UNet conditioned on the
prompt (CLIP text encoder) and on FiLM from the embedded 4-D condition, recover x0 with the scheduler's
alpha_bar at t, VAE-decode. Trainable: LoRA on the UNet (rank 32) and VAE encoder (rank 16), the UNet's
conv_in and the FiLM MLPs; everything else is frozen. Differences from S3Diff / img2img-turbo, on
purpose: the latent is the posterior mode (not a sample), and x0 is computed in closed form (no
`clip_sample`, no variance noise), so the forward is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from peft import LoraConfig, inject_adapter_in_model
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from training.trainable import load_trainable_state_dict, trainable_state_dict
from training.condition import SinusoidalEmbedding, condition_prompts
from training.models.film import attach_film

UNET_LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "conv", "conv1", "conv2", "conv_shortcut", "conv_out",
                     "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2")
VAE_ENCODER_LORA_TARGETS = ("conv1", "conv2", "conv_in", "conv_shortcut", "conv", "conv_out",
                            "to_q", "to_k", "to_v", "to_out.0")
# subfolder -> (file that must be there, whether model weights must be there too)
SD_TURBO_LAYOUT = {"unet": ("config.json", True), "vae": ("config.json", True),
                   "text_encoder": ("config.json", True), "tokenizer": ("tokenizer_config.json", False),
                   "scheduler": ("scheduler_config.json", False)}
WEIGHT_SUFFIXES = (".safetensors", ".bin")


@dataclass(frozen=True)
class SimulatorSettings:
    """What is added on top of the pretrained backbone."""

    unet_lora_rank: int = 32
    vae_lora_rank: int = 16
    dims_per_scalar: int = 64
    timestep: int = 999


def _missing(path: Path, what: str, repo_id: str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} is missing under {path}: download {repo_id} to {path} "
                             f"(e.g. `hf download {repo_id} --local-dir {path}`); no random fallback is used")


def resolve_pretrained(path_or_repo: str | Path, repo_id: str = "stabilityai/sd-turbo") -> Path:
    """A local folder, or a repo id already in the hub cache (never downloads); checks the layout."""
    path = Path(path_or_repo).expanduser()
    if not path.is_dir() and str(path_or_repo).count("/") == 1 and not Path(path_or_repo).is_absolute():
        from huggingface_hub import snapshot_download  # only to look into the local cache

        try:
            path = Path(snapshot_download(str(path_or_repo), local_files_only=True))
        except Exception as error:  # the hub raises several types for "not cached"
            raise FileNotFoundError(f"{path_or_repo} is not in the hub cache and is not a folder: "
                                    f"download {repo_id} to a folder and pass its path") from error
    if not path.is_dir():
        raise _missing(path, "the model folder", repo_id)
    for subfolder, (config_name, needs_weights) in SD_TURBO_LAYOUT.items():
        if not (path / subfolder / config_name).is_file():
            raise _missing(path, f"{subfolder}/{config_name}", repo_id)
        if needs_weights and not any(f.name.endswith(WEIGHT_SUFFIXES) for f in (path / subfolder).iterdir()):
            raise _missing(path, f"{subfolder}/ weights (*.safetensors)", repo_id)
    return path


class CodecSimulator(nn.Module):
    """f_theta(image in [-1, 1], condition B x 4) -> simulated codec output in [-1, 1]."""

    def __init__(self, vae: AutoencoderKL, unet: UNet2DConditionModel, text_encoder: CLIPTextModel,
                 tokenizer: CLIPTokenizer, scheduler: DDPMScheduler, settings: SimulatorSettings = SimulatorSettings()):
        super().__init__()
        self.settings = settings
        self.vae, self.unet, self.text_encoder, self.tokenizer = vae, unet, text_encoder, tokenizer
        self.requires_grad_(False)
        inject_adapter_in_model(LoraConfig(r=settings.unet_lora_rank, lora_alpha=settings.unet_lora_rank,
                                           target_modules=list(UNET_LORA_TARGETS)), self.unet)
        inject_adapter_in_model(LoraConfig(r=settings.vae_lora_rank, lora_alpha=settings.vae_lora_rank,
                                           target_modules=list(VAE_ENCODER_LORA_TARGETS)), self.vae.encoder)
        self.embedding = SinusoidalEmbedding(settings.dims_per_scalar)
        self.film = attach_film(self.unet, self.embedding.output_dim())  # after LoRA: hooks the LoRA wrappers
        for name, parameter in self.named_parameters():
            parameter.requires_grad_("lora_" in name or name.startswith(("unet.conv_in.", "film.")))
        alpha_bar = scheduler.alphas_cumprod[settings.timestep].float()
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)
        self.prediction_type = scheduler.config.prediction_type
        self.latent_scale = float(vae.config.scaling_factor)
        self.text_encoder.eval()

    @classmethod
    def from_pretrained(cls, path_or_repo: str | Path,
                        settings: SimulatorSettings = SimulatorSettings()) -> CodecSimulator:
        """Load SD-Turbo's parts from a local folder (or the hub cache); FileNotFoundError when absent."""
        path = resolve_pretrained(path_or_repo)
        return cls(AutoencoderKL.from_pretrained(path, subfolder="vae"),
                   UNet2DConditionModel.from_pretrained(path, subfolder="unet"),
                   CLIPTextModel.from_pretrained(path, subfolder="text_encoder"),
                   CLIPTokenizer.from_pretrained(path, subfolder="tokenizer"),
                   DDPMScheduler.from_pretrained(path, subfolder="scheduler"), settings)

    @classmethod
    def from_configs(cls, vae_config: dict, unet_config: dict, text_config: CLIPTextConfig, tokenizer: CLIPTokenizer,
                     scheduler_config: dict | None = None,
                     settings: SimulatorSettings = SimulatorSettings()) -> CodecSimulator:
        """Randomly initialised parts from explicit configs (tests, tiny experiments)."""
        return cls(AutoencoderKL.from_config(vae_config), UNet2DConditionModel.from_config(unet_config),
                   CLIPTextModel(text_config), tokenizer, DDPMScheduler.from_config(scheduler_config or {}), settings)

    def train(self, mode: bool = True) -> CodecSimulator:
        """Train mode for the trainable parts; the frozen text encoder always stays in eval mode."""
        super().train(mode)
        self.text_encoder.eval()
        return self

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this (VAE and UNet downsampling)."""
        vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return vae_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """CLIP hidden states (B x tokens x dim) of the prompts; the text encoder is frozen."""
        tokens = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt")
        return self.text_encoder(tokens.input_ids.to(self.alpha_bar.device))[0]

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        """image: B x 3 x H x W in [-1, 1]; condition: B x 4 ([one-hot, bpp]); prompts default to c's."""
        multiple = self.size_multiple
        if image.shape[-1] % multiple or image.shape[-2] % multiple:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be a multiple of {multiple}")
        prompts = prompts if prompts is not None else condition_prompts(condition[:, :3], condition[:, 3])
        text = self.encode_prompts(prompts)
        self.film.set_condition(self.embedding(condition))
        latent = self.vae.encode(image).latent_dist.mode() * self.latent_scale
        timestep = torch.full((image.shape[0],), self.settings.timestep, device=image.device, dtype=torch.long)
        prediction = self.unet(latent, timestep, encoder_hidden_states=text.to(latent.dtype)).sample
        latent_x0 = predict_x0(prediction, latent, self.alpha_bar, self.prediction_type)
        return self.vae.decode(latent_x0 / self.latent_scale).sample.clamp(-1, 1)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Only what training changes (LoRA, UNet conv_in, FiLM), keyed by parameter name."""
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a `trainable_state_dict`; the key sets must match exactly."""
        load_trainable_state_dict(self, state)

    def save_trainable(self, path: str | Path) -> None:
        save_file(self.trainable_state_dict(), str(path))

    def load_trainable(self, path: str | Path) -> None:
        self.load_trainable_state_dict(load_file(str(path)))


def predict_x0(prediction: torch.Tensor, latent: torch.Tensor, alpha_bar: torch.Tensor,
               prediction_type: str) -> torch.Tensor:
    """x0 from the UNet output at one timestep: epsilon, v_prediction or sample parameterisation."""
    alpha_bar = alpha_bar.to(latent.dtype)
    if prediction_type == "epsilon":
        return (latent - (1 - alpha_bar).sqrt() * prediction) / alpha_bar.sqrt()
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * latent - (1 - alpha_bar).sqrt() * prediction
    if prediction_type == "sample":
        return prediction
    raise ValueError(f"unsupported scheduler prediction_type {prediction_type!r}")
