"""Post-processing h_phi(X_hat, c): restore the codec's output, conditioned on c = (codec, bpp).

The network is the small simulator's conditional residual UNet (diffusers ResnetBlock2D with FiLM from
the embedded 4-D condition, zero-initialised output conv), so at initialisation h_phi is the identity
and post-processing starts from "no post-processing". Pictures are in [-1, 1], like the simulator
output it follows in training; at test time it runs on the real codec's output
(``training.inference.PostFunction``).
"""

from __future__ import annotations

from training.models.small_simulator import SmallSimulator


class PostProcessor(SmallSimulator):
    """h_phi(decoded picture in [-1, 1], condition B x 4, prompts ignored) -> restored picture in [-1, 1].

    Same architecture and forward as SmallSimulator (identity at initialisation, output not clamped);
    a subclass of its own so that code and checkpoints say which role a network plays.
    """
