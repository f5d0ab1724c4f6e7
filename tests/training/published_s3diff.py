"""A direct re-implementation of the public S3Diff / VRPSR forwards and save_model layouts, for the import tests.

Built the way the public code builds its models (peft ``LoraConfig`` + diffusers ``add_adapter``, the
LoRA layers' forward replaced by the degradation-modulated one, every ResnetBlock2D given VRPSR's
``mlp`` and meta forward, DDPMScheduler with one step), but on tiny random parts; it shares no code
with training/models/s3diff, so equal outputs check our implementation against the published one.
"""

from __future__ import annotations

import math
import types

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import get_timestep_embedding
from diffusers.models.resnet import ResnetBlock2D
from peft import LoraConfig
from torch import nn

UNET_TARGETS = [
    "to_k",
    "to_q",
    "to_v",
    "to_out.0",
    "conv",
    "conv1",
    "conv2",
    "conv_shortcut",
    "conv_out",
    "proj_in",
    "proj_out",
    "ff.net.2",
    "ff.net.0.proj",
]
VAE_TARGETS = r"^encoder\..*(conv1|conv2|conv_in|conv_shortcut|conv|conv_out|to_k|to_q|to_v|to_out\.0)$"


def modulated_lora_forward(self, x, *args, **kwargs):
    result = self.base_layer(x, *args, **kwargs)
    for adapter in self.active_adapters:
        lora_a, lora_b = self.lora_A[adapter], self.lora_B[adapter]
        low = lora_a(self.lora_dropout[adapter](x))
        if isinstance(lora_a, nn.Conv2d):
            low = torch.einsum("...khw,...kr->...rhw", low, self.de_mod)
        else:
            low = torch.einsum("...lk,...kr->...lr", low, self.de_mod)
        result = result + lora_b(low) * self.scaling[adapter]
    return result


def meta_block_forward(self, input_tensor, temb=None, **kwargs):
    hidden = self.conv1(self.nonlinearity(self.norm1(input_tensor)))
    if temb is not None:
        hidden = hidden + self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
    hidden = self.conv2(self.dropout(self.nonlinearity(self.norm2(hidden))))
    shortcut = self.conv_shortcut(input_tensor) if self.conv_shortcut is not None else input_tensor
    if self.meta_emb is not None:
        shift, scale = self.mlp(self.meta_emb).chunk(2, dim=1)
        hidden = hidden * (1 + scale[..., None, None]) + shift[..., None, None]
    return self.output_scale_factor * (shortcut + hidden)


class PublishedS3Diff(nn.Module):
    """S3Diff (meta=False) or VRPSR's S3DiffMetaEmbed (meta=True) on the given parts, randomised."""

    def __init__(self, vae, unet, text_encoder, tokenizer, scheduler, meta: bool, rank_unet=32, rank_vae=16):
        super().__init__()
        vae.add_adapter(
            LoraConfig(r=rank_vae, init_lora_weights="gaussian", target_modules=VAE_TARGETS), adapter_name="vae_skip"
        )
        unet.add_adapter(LoraConfig(r=rank_unet, init_lora_weights="gaussian", target_modules=UNET_TARGETS))
        self.vae, self.unet, self.text_encoder, self.tokenizer = vae, unet, text_encoder, tokenizer
        self.sched = scheduler
        self.sched.set_timesteps(1)
        self.rank_unet, self.rank_vae, self.meta = rank_unet, rank_vae, meta
        self.W = nn.Parameter(torch.randn(64), requires_grad=False)
        self.vae_de_mlp = nn.Sequential(nn.Linear(256, 256), nn.ReLU(True))
        self.unet_de_mlp = nn.Sequential(nn.Linear(256, 256), nn.ReLU(True))
        self.vae_block_mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(True))
        self.unet_block_mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(True))
        self.vae_fuse_mlp = nn.Linear(320, rank_vae**2)
        self.unet_fuse_mlp = nn.Linear(320, rank_unet**2)
        self.vae_block_embeddings = nn.Embedding(6, 64)
        self.unet_block_embeddings = nn.Embedding(10, 64)
        if meta:
            for module in unet.modules():
                if isinstance(module, ResnetBlock2D):
                    channels = module.conv2.base_layer.out_channels
                    module.mlp = nn.Sequential(
                        nn.Linear(256, 4 * channels), nn.SiLU(), nn.Linear(4 * channels, 2 * channels)
                    )
                    module.meta_emb = None
                    module.forward = types.MethodType(meta_block_forward, module)
        self.vae_lora_layers = [n[: -len(".base_layer")] for n, _ in vae.named_modules() if "base_layer" in n]
        self.unet_lora_layers = [n[: -len(".base_layer")] for n, _ in unet.named_modules() if "base_layer" in n]
        for model, names in ((vae, self.vae_lora_layers), (unet, self.unet_lora_layers)):
            for name, module in model.named_modules():
                if name in names:
                    module.forward = types.MethodType(modulated_lora_forward, module)
        with torch.no_grad():  # trained-looking weights: every factor and MLP away from its initialisation
            for name, parameter in self.named_parameters():
                if (
                    name.startswith(("vae_", "unet_", "unet.conv_in."))
                    or "lora_" in name
                    or (name.startswith("unet.") and ".mlp." in name)
                ):
                    parameter.add_(torch.randn_like(parameter) * 0.05)
        self.eval()

    def _encode(self, prompt):
        tokens = self.tokenizer(
            prompt,
            max_length=self.tokenizer.model_max_length,
            padding="max_length",
            truncation=True,
            return_tensors="pt",
        ).input_ids
        return self.text_encoder(tokens)[0]

    def forward(self, c_t, deg_score, prompt, meta_vec=None, neg_prompt=None, guidance_scale=1.0):
        """S3DiffMetaEmbed's forward; with neg_prompt, S3Diff's inference (s3diff_tile, untiled path)."""
        caption_enc = self._encode(prompt)
        deg_proj = deg_score[..., None] * self.W[None, None, :] * 2 * math.pi
        deg_proj = torch.cat([torch.sin(deg_proj), torch.cos(deg_proj)], dim=-1)
        deg_proj = torch.cat([deg_proj[:, 0], deg_proj[:, 1]], dim=-1)
        vae_de, unet_de = self.vae_de_mlp(deg_proj), self.unet_de_mlp(deg_proj)
        vae_blocks = self.vae_block_mlp(self.vae_block_embeddings.weight)
        unet_blocks = self.unet_block_mlp(self.unet_block_embeddings.weight)
        vae_embeds = self.vae_fuse_mlp(
            torch.cat(
                [
                    vae_de.unsqueeze(1).repeat(1, vae_blocks.shape[0], 1),
                    vae_blocks.unsqueeze(0).repeat(vae_de.shape[0], 1, 1),
                ],
                -1,
            )
        )
        unet_embeds = self.unet_fuse_mlp(
            torch.cat(
                [
                    unet_de.unsqueeze(1).repeat(1, unet_blocks.shape[0], 1),
                    unet_blocks.unsqueeze(0).repeat(unet_de.shape[0], 1, 1),
                ],
                -1,
            )
        )
        for name, module in self.vae.named_modules():
            if name in self.vae_lora_layers:
                split = name.split(".")
                embed = (
                    vae_embeds[:, int(split[2])]
                    if split[1] == "down_blocks"
                    else vae_embeds[:, -2]
                    if split[1] == "mid_block"
                    else vae_embeds[:, -1]
                )
                module.de_mod = embed.reshape(-1, self.rank_vae, self.rank_vae)
        for name, module in self.unet.named_modules():
            if name in self.unet_lora_layers:
                split = name.split(".")
                if split[0] == "down_blocks":
                    index = int(split[1])
                elif split[0] == "mid_block":
                    index = 4
                elif split[0] == "up_blocks":
                    index = int(split[1]) + 5
                else:
                    index = -1
                module.de_mod = unet_embeds[:, index].reshape(-1, self.rank_unet, self.rank_unet)
        blocks = [m for m in self.unet.modules() if isinstance(m, ResnetBlock2D)] if self.meta else []
        if meta_vec is not None:
            meta_emb = torch.cat([get_timestep_embedding(meta_vec[:, i], 64) for i in range(4)], dim=1)
            for block in blocks:
                block.meta_emb = meta_emb
        encoded = self.vae.encode(c_t).latent_dist.sample() * self.vae.config.scaling_factor
        timesteps = torch.tensor([999]).long()
        model_pred = self.unet(encoded, timesteps, encoder_hidden_states=caption_enc).sample
        if neg_prompt is not None:
            neg_pred = self.unet(encoded, timesteps, encoder_hidden_states=self._encode(neg_prompt)).sample
            model_pred = neg_pred + guidance_scale * (model_pred - neg_pred)
        denoised = self.sched.step(model_pred, timesteps, encoded, return_dict=True).prev_sample
        for block in blocks:
            block.meta_emb = None
        return self.vae.decode(denoised / self.vae.config.scaling_factor).sample.clamp(-1, 1)

    def save_model(self, path) -> None:
        unet_filter = (
            (lambda k: "lora_" in k or "conv_in" in k or "add_embedding" in k or ".mlp." in k)
            if self.meta
            else (lambda k: "lora" in k or "conv_in" in k)
        )
        state = {
            "unet_lora_target_modules": UNET_TARGETS,
            "vae_lora_target_modules": VAE_TARGETS,
            "rank_unet": self.rank_unet,
            "rank_vae": self.rank_vae,
            "state_dict_unet": {k: v for k, v in self.unet.state_dict().items() if unet_filter(k)},
            "state_dict_vae": {k: v for k, v in self.vae.state_dict().items() if "lora" in k or "skip_conv" in k},
            "w": self.W,
            "state_embeddings": {
                "state_dict_vae_block": self.vae_block_embeddings.state_dict(),
                "state_dict_unet_block": self.unet_block_embeddings.state_dict(),
            },
        }
        for name in ("vae_de_mlp", "unet_de_mlp", "vae_block_mlp", "unet_block_mlp", "vae_fuse_mlp", "unet_fuse_mlp"):
            state[f"state_dict_{name}"] = getattr(self, name).state_dict()
        torch.save(state, path)


def published_de_net(state: dict, picture: torch.Tensor) -> torch.Tensor:
    """DEResNet's forward written out over its published state dict (residual blocks, one strided conv)."""
    scores = []
    for branch in range(2):
        hidden = F.conv2d(picture, state[f"conv_first.{branch}.weight"], state[f"conv_first.{branch}.bias"], padding=1)
        layer = 0
        while f"body.{branch}.{layer}.conv1.weight" in state or f"body.{branch}.{layer}.weight" in state:
            key = f"body.{branch}.{layer}"
            if f"{key}.conv1.weight" in state:
                inner = F.relu(F.conv2d(hidden, state[f"{key}.conv1.weight"], state[f"{key}.conv1.bias"], padding=1))
                hidden = hidden + F.conv2d(inner, state[f"{key}.conv2.weight"], state[f"{key}.conv2.bias"], padding=1)
            else:
                hidden = F.conv2d(hidden, state[f"{key}.weight"], state[f"{key}.bias"], stride=2, padding=1)
            layer += 1
        pooled = hidden.mean(dim=(2, 3))
        head = f"fc_degree.{branch}"
        hidden = F.relu(F.linear(pooled, state[f"{head}.0.weight"], state[f"{head}.0.bias"]))
        scores.append(torch.sigmoid(F.linear(hidden, state[f"{head}.2.weight"], state[f"{head}.2.bias"])).squeeze(-1))
    return torch.stack(scores, dim=1)
