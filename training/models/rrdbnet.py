"""Real-ESRGAN's RRDBNet, made codec-aware: g_phi(LQ, c) with c = [one-hot(3), bpp].

The network is Real-ESRGAN's generator (ESRGAN's RRDB trunk: num_feat 64, 23 RRDB, grow 32; two nearest
x2 upsamplings), with the same parameter names, so official ``.pth`` weights load unchanged. Scale 4
works on the S/4 LQ; scale 2 and 1 first pixel-unshuffle the input by 2 or 4 (the 512 -> 512 setting of
the paper's code feeds the LQ upsampled to S at scale 1).

Codec awareness: each scalar of c is embedded sinusoidally (16 dims each -> 64, training/condition.py);
every RRDB owns two MLP heads that map the embedding to one bias per channel, added to the features
after its first and after its second dense block. The heads' last layers are zero-initialised, so at
initialisation the model computes exactly the plain RRDBNet with the same weights. With
``codec_aware=False`` the heads do not exist and ``condition`` is ignored (the ``--no-embed`` ablation:
RRDBNet has no prompt path, so "prompt only" leaves it unconditioned).

Long skip (``long_skip``, recorded): "esrgan" adds conv_body(trunk) to the conv_first output (ESRGAN,
Real-ESRGAN and their .pth files); "vrpsr-official" is what the official RRDBNetEmbeddingProj.forward
computes, trunk + conv_body(trunk) (its loop overwrites the conv_first output with the trunk), which the
imported ``vrpsr_realesrgan`` weights were trained with.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.condition import CODEC_NAMES, EMBEDDINGS, condition_dim, condition_value

UNSHUFFLE = {4: 1, 2: 2, 1: 4}  # scale -> pixel-unshuffle factor applied to the input
LONG_SKIPS = ("esrgan", "vrpsr-official")
CODEC_HEADS = "codec_heads"  # parameter-name part of the codec heads (absent from official weights)


def _scaled_kaiming(convs: list[nn.Conv2d], scale: float) -> None:
    """ESRGAN's initialisation of the dense blocks: Kaiming-normal weights times `scale`, zero biases."""
    for conv in convs:
        nn.init.kaiming_normal_(conv.weight)
        conv.weight.data.mul_(scale)
        nn.init.zeros_(conv.bias)


def bias_head(embed_dim: int, channels: int, hidden_dim: int) -> nn.Sequential:
    """embedding -> hidden -> SiLU -> one bias per channel; last layer zero-initialised."""
    head = nn.Sequential(nn.Linear(embed_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, channels))
    nn.init.zeros_(head[-1].weight)
    nn.init.zeros_(head[-1].bias)
    return head


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; output = conv5(...) * 0.2 + input."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        _scaled_kaiming([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        dense = [features]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            dense.append(F.leaky_relu(conv(torch.cat(dense, 1)), 0.2))
        return self.conv5(torch.cat(dense, 1)) * 0.2 + features


class RRDB(nn.Module):
    """Residual-in-residual dense block; with `embed_dim`, two codec heads bias the first two dense blocks."""

    def __init__(self, num_feat: int, num_grow_ch: int, embed_dim: int | None = None):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.codec_heads = (
            nn.ModuleList(bias_head(embed_dim, num_feat, embed_dim) for _ in range(2)) if embed_dim else None
        )

    def forward(self, features: torch.Tensor, embedding: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.rdb1(features)
        if self.codec_heads is not None:
            hidden = hidden + self.codec_heads[0](embedding).to(hidden.dtype)[:, :, None, None]
        hidden = self.rdb2(hidden)
        if self.codec_heads is not None:
            hidden = hidden + self.codec_heads[1](embedding).to(hidden.dtype)[:, :, None, None]
        return self.rdb3(hidden) * 0.2 + features


class RRDBNet(nn.Module):
    """g_phi(image in [0, 1], condition B x 4, prompts ignored) -> SR image (about [0, 1], not clamped).

    Output size = input size * scale (scale 4), or the input size (scale 1, input side a multiple of 4).
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        codec_aware: bool = True,
        dims_per_scalar: int = 16,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        embedding: str = "ours",
        condition_units: str = "bpp",
        long_skip: str = "esrgan",
        codec_names: tuple[str, ...] = CODEC_NAMES,
    ):
        super().__init__()
        self.codec_names = tuple(codec_names)  # the one-hot's codecs: x264, x265, vvenc (+ the dataset's others)
        if scale not in UNSHUFFLE:
            raise ValueError(f"RRDBNet scale must be one of {sorted(UNSHUFFLE)}, got {scale}")
        if long_skip not in LONG_SKIPS:
            raise ValueError(f"unknown RRDBNet long_skip {long_skip!r}; choose one of {', '.join(LONG_SKIPS)}")
        self.scale, self.codec_aware, self.long_skip = scale, codec_aware, long_skip
        self.condition_units = condition_units  # "bpp", or "official-kB" (the published VRPSR model's)
        # "ours": SinusoidalEmbedding; "vrpsr": the official RRDBNetEmbeddingProj's (diffusers timestep embedding)
        self.embedding = EMBEDDINGS[embedding](dims_per_scalar) if codec_aware else None
        embed_dim = self.embedding.output_dim(condition_dim(self.codec_names)) if codec_aware else None
        self.conv_first = nn.Conv2d(num_in_ch * UNSHUFFLE[scale] ** 2, num_feat, 3, 1, 1)
        self.body = nn.ModuleList(RRDB(num_feat, num_grow_ch, embed_dim) for _ in range(num_block))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (the pixel-unshuffle factor)."""
        return UNSHUFFLE[self.scale]

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor | None = None, prompts: list[str] | None = None
    ) -> torch.Tensor:
        """image: B x 3 x h x w in [0, 1]; condition: B x 4 ([one-hot, bpp]; needed when codec-aware)."""
        factor = UNSHUFFLE[self.scale]
        if image.shape[-1] % factor or image.shape[-2] % factor:
            raise ValueError(
                f"RRDBNet x{self.scale}: input size {tuple(image.shape[-2:])} must be a multiple of {factor}"
            )
        embedding = None
        if self.codec_aware:
            if condition is None:
                raise ValueError("this RRDBNet is codec-aware: pass the condition (B x 4: one-hot, bpp)")
            condition = condition.to(image.device).float()
            height, width = image.shape[-2] * self.scale, image.shape[-1] * self.scale  # the coded picture
            value = condition_value(condition[:, -1], self.condition_units, height, width)
            embedding = self.embedding(torch.cat([condition[:, :-1], value[:, None]], dim=1))
        features = self.conv_first(F.pixel_unshuffle(image, factor) if factor > 1 else image)
        trunk = features
        for block in self.body:
            trunk = block(trunk, embedding)
        features = (trunk if self.long_skip == "vrpsr-official" else features) + self.conv_body(trunk)
        features = F.leaky_relu(self.conv_up1(F.interpolate(features, scale_factor=2, mode="nearest")), 0.2)
        features = F.leaky_relu(self.conv_up2(F.interpolate(features, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(features), 0.2))


def load_realesrgan_weights(model: RRDBNet, path: str | Path) -> None:
    """Load an official Real-ESRGAN ``.pth`` (its ``params_ema``, else ``params``) into `model` in place.

    The codec heads are not in official files and keep their (zero) initialisation. Raises
    FileNotFoundError naming the file when it is absent, and KeyError / ValueError naming it when its
    keys or shapes do not fit (e.g. an x4 file for a scale-1 model).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Real-ESRGAN weights {path} not found: download the official .pth "
            f"(e.g. RealESRGAN_x4plus.pth) to that path (no random fallback is used), or leave out --pretrained to "
            "start RRDBNet from random weights"
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint
    for key in ("params_ema", "params"):
        if isinstance(checkpoint, dict) and key in checkpoint:
            state = checkpoint[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise KeyError(f"{path}: expected a state dict under 'params_ema' or 'params'")
    expected = model.state_dict()
    missing = [name for name in expected if name not in state and f".{CODEC_HEADS}." not in name]
    unexpected = [name for name in state if name not in expected]
    if missing or unexpected:
        raise KeyError(f"{path} does not fit this RRDBNet: missing {missing[:5]}, unexpected {unexpected[:5]}")
    wrong = [
        f"{name} {tuple(state[name].shape)} vs {tuple(value.shape)}"
        for name, value in expected.items()
        if name in state and state[name].shape != value.shape
    ]
    if wrong:
        raise ValueError(f"{path} does not fit this RRDBNet (scale {model.scale}): {wrong[:3]}")
    model.load_state_dict(state, strict=False)
