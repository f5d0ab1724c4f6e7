"""A learned hyperprior codec as simulator (paper Table 6): Ballé et al. 2018's scale hyperprior, rate-conditioned.

Our own implementation of CompressAI's ``ScaleHyperprior`` layout (CompressAI itself is not a dependency:
its only wheel pins numpy < 2). Analysis g_a: four 5x5 stride-2 convs with GDN; synthesis g_s: the
mirror with inverse GDN; hyper-analysis h_a on |y|: 3x3 conv, two 5x5 stride-2 convs (ReLU); hyper-synthesis
h_s: two 5x5 stride-2 transposed convs and a 3x3 conv (ReLU) giving the scales of a zero-mean Gaussian
per element of y. Simplification: z's prior is a learned logistic per channel (location, scale), not the
non-parametric factorised density.

The rate target enters as a per-channel gain on y (gain units, as in variable-rate learned codecs):
``y = g_a(x) * gain(c)``, ``x_hat = g_s(y_hat / gain(c))``, with ``gain(c) = exp(MLP([one-hot, log bpp]))``
and the MLP's last layer zero-initialised. Training adds a rate term toward the condition's bpp
(`rate_terms`). Quantisation: uniform noise for the likelihoods while training, rounding with a
straight-through gradient for the reconstruction (and, in eval mode, for both), so a frozen hyperprior
still passes gradients to an SR model in stage 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCALE_BOUND = 0.11
LIKELIHOOD_BOUND = 1e-9


class GDN(nn.Module):
    """Generalised divisive normalisation y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2) (inverse: times)."""

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.gamma.abs()[:, :, None, None]
        norm = torch.sqrt(F.conv2d(x * x, gamma, self.beta.abs() + 1e-6))
        return x * norm if self.inverse else x / norm


def _down(cin: int, cout: int, kernel: int = 5) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=2, padding=kernel // 2)


def _up(cin: int, cout: int, kernel: int = 5) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel, stride=2, padding=kernel // 2, output_padding=1)


def quantise(values: torch.Tensor) -> torch.Tensor:
    """round(values) forward, identity backward."""
    return values + (torch.round(values) - values).detach()


def gaussian_likelihood(values: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """P(values) of integer bins under N(0, scale^2): Phi((0.5 - |v|)/s) - Phi((-0.5 - |v|)/s)."""
    scales, magnitude = scales.clamp_min(SCALE_BOUND), values.abs()
    normal = torch.distributions.Normal(0.0, 1.0)
    upper, lower = normal.cdf((0.5 - magnitude) / scales), normal.cdf((-0.5 - magnitude) / scales)
    return (upper - lower).clamp_min(LIKELIHOOD_BOUND)


class HyperpriorSimulator(nn.Module):
    """f(image in [-1, 1], condition B x 4, prompts ignored) -> decoded image at about the condition's bpp."""

    def __init__(
        self, channels: int = 128, latent_channels: int = 192, condition_hidden: int = 64, condition_width: int = 4
    ):
        super().__init__()
        n, m = channels, latent_channels
        self.g_a = nn.Sequential(_down(3, n), GDN(n), _down(n, n), GDN(n), _down(n, n), GDN(n), _down(n, m))
        self.g_s = nn.Sequential(_up(m, n), GDN(n, True), _up(n, n), GDN(n, True), _up(n, n), GDN(n, True), _up(n, 3))
        self.h_a = nn.Sequential(nn.Conv2d(m, n, 3, padding=1), nn.ReLU(), _down(n, n), nn.ReLU(), _down(n, n))
        self.h_s = nn.Sequential(_up(n, n), nn.ReLU(), _up(n, n), nn.ReLU(), nn.Conv2d(n, m, 3, padding=1), nn.ReLU())
        self.z_location = nn.Parameter(torch.zeros(n))
        self.z_log_scale = nn.Parameter(torch.zeros(n))
        self.gain = nn.Sequential(
            nn.Linear(condition_width, condition_hidden), nn.SiLU(), nn.Linear(condition_hidden, m)
        )
        nn.init.zeros_(self.gain[-1].weight)
        nn.init.zeros_(self.gain[-1].bias)

    size_multiple = 64  # g_a and h_a downsample by 2^6

    def z_likelihood(self, z: torch.Tensor) -> torch.Tensor:
        location, scale = self.z_location[None, :, None, None], self.z_log_scale.exp()[None, :, None, None]
        upper = torch.sigmoid((z + 0.5 - location) / scale)
        lower = torch.sigmoid((z - 0.5 - location) / scale)
        return (upper - lower).clamp_min(LIKELIHOOD_BOUND)

    def channel_gain(self, condition: torch.Tensor) -> torch.Tensor:
        features = torch.cat([condition[:, :-1], condition[:, -1:].clamp_min(1e-3).log()], dim=1)
        return self.gain(features.float()).exp()[:, :, None, None]

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None, return_rate: bool = False
    ):
        height, width = image.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(f"image size {(height, width)} must be a multiple of {self.size_multiple}")
        gain = self.channel_gain(condition)
        y = self.g_a(image) * gain
        z = self.h_a(y.abs())
        noisy = self.training
        z_for_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5) if noisy else quantise(z)
        scales = self.h_s(quantise(z))
        y_for_rate = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noisy else quantise(y)
        output = self.g_s(quantise(y) / gain)
        if not return_rate:
            return output
        bits = -(
            gaussian_likelihood(y_for_rate, scales).log2().sum(dim=(1, 2, 3))
            + self.z_likelihood(z_for_rate).log2().sum(dim=(1, 2, 3))
        )
        return output, bits / (height * width)


def rate_terms(estimated_bpp: torch.Tensor, target_bpp: torch.Tensor, weight: float) -> dict[str, torch.Tensor]:
    """The loop's extra terms: rate_loss = weight * mean(log(estimate / target)^2), and the mean relative
    rate error |estimate - target| / target (logged, not optimised)."""
    target = target_bpp.float().clamp_min(1e-4)
    log_ratio = torch.log(estimated_bpp.float().clamp_min(1e-6) / target)
    return {
        "rate_loss": weight * log_ratio.square().mean(),
        "rate_error": ((estimated_bpp.float() - target).abs() / target).mean().detach(),
    }
