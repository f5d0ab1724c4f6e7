"""Tiny, randomly initialised model configurations for the training tests (no network, no weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPTextConfig, CLIPTokenizer

from codec_bindings import encode
from training.condition import CODEC_NAMES, codec_onehot, condition_prompt

TOKEN_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.{}"


def tiny_tokenizer(max_length: int = 40) -> CLIPTokenizer:
    """A character-level CLIP tokenizer (no merges) that covers every prompt the condition writes."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for character in TOKEN_CHARACTERS:
        vocab[character] = len(vocab)
        vocab[character + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def tiny_vae_config() -> dict:
    return {
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 4,
        "block_out_channels": (32, 32),
        "down_block_types": ("DownEncoderBlock2D",) * 2,
        "up_block_types": ("UpDecoderBlock2D",) * 2,
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "sample_size": 32,
    }


def tiny_unet_config() -> dict:
    return {
        "sample_size": 16,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "cross_attention_dim": 32,
        "attention_head_dim": 8,
        "norm_num_groups": 8,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    }


def tiny_text_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=40,
        projection_dim=32,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )


@pytest.fixture()
def tiny_parts() -> dict:
    """Configs and tokenizer of a tiny SD-Turbo-like simulator (build with CodecSimulator.from_configs)."""
    tokenizer = tiny_tokenizer()
    return {
        "vae_config": tiny_vae_config(),
        "unet_config": tiny_unet_config(),
        "text_config": tiny_text_config(len(tokenizer.get_vocab())),
        "tokenizer": tokenizer,
        "scheduler_config": {
            "num_train_timesteps": 1000,
            "beta_schedule": "scaled_linear",
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "prediction_type": "epsilon",
            "clip_sample": False,
            "timestep_spacing": "trailing",
        },
    }  # as SD-Turbo's


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


def photo_codec_batches(photo_dir: Path, crops: int, batch_size: int, size: int = 32) -> list[dict]:
    """Trainer batches from photo crops run through the real codecs (codecs and QPs cycle over the crops)."""
    rng = np.random.default_rng(7)
    paths = sorted(photo_dir.glob("*.png"))
    samples = []
    for index in range(crops):
        picture = np.asarray(Image.open(paths[index % len(paths)]).convert("RGB"))
        top, left = rng.integers(0, picture.shape[0] - size), rng.integers(0, picture.shape[1] - size)
        clean = np.ascontiguousarray(picture[top : top + size, left : left + size])
        codec = CODEC_NAMES[index % len(CODEC_NAMES)]
        encoded = encode(clean, codec, qp=(27, 32, 37)[(index // 3) % 3])
        samples.append((clean, encoded.recon, codec, encoded.bpp))

    def to_tensor(pictures: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).float() / 255.0

    batches = []
    for start in range(0, crops, batch_size):
        group = samples[start : start + batch_size]
        batches.append(
            {
                "clean": to_tensor([s[0] for s in group]),
                "codec_out": to_tensor([s[1] for s in group]),
                "codec_onehot": torch.stack([codec_onehot(s[2]) for s in group]),
                "bpp": torch.tensor([s[3] for s in group], dtype=torch.float32),
                "prompt": [condition_prompt(s[2], s[3]) for s in group],
            }
        )
    return batches


@pytest.fixture(scope="session")
def codec_batches(photo_dir: Path) -> list[dict]:
    """6 batches of 2 photo 32x32 crops with x264 / x265 / vvenc outputs at QP 27 / 32 / 37."""
    return photo_codec_batches(photo_dir, crops=12, batch_size=2)


@pytest.fixture(scope="session")
def held_out_batches(photo_dir: Path) -> list[dict]:
    """2 held-out batches of 3 crops (other crops, same protocol)."""
    return photo_codec_batches(photo_dir, crops=6, batch_size=3)[::-1]
