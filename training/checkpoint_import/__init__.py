"""Importers of the published S3Diff and VRPSR checkpoints into our safetensors checkpoint folders.

One file per published kind; each reads tensors only (``torch.load(weights_only=True)``), maps every
key into our modules (no missing or unexpected keys), and writes a folder the loaders accept
(``vrpsr eval --model checkpoint:OUT``, ``vrpsr train ... --init-from OUT``):

  kind              published file            becomes
  s3diff            s3diff.pkl (+ de_net.pth) SR checkpoint: S3Diff without codec condition
  de_net            de_net.pth                the degradation estimator alone
  simulator         simulator.pkl             stage-1 simulator checkpoint (official-kB units)
  vrpsr_s3diff      vrpsr_s3diff.pkl          SR checkpoint (S3Diff + VRPSR)
  vrpsr_realesrgan  vrpsr_realesrgan.pkl      SR checkpoint (RRDBNet); the .pkl pickles code: refused,
                                              import its state dict (the error says how to make it)
  pre_sr            pre_sr.pkl                SR checkpoint (the SR in front of post-processing)
  post_sr           post_sr.pkl               post-processing checkpoint
"""

from __future__ import annotations

from training.checkpoint_import.de_net import import_de_net
from training.checkpoint_import.post_sr import import_post_sr
from training.checkpoint_import.pre_sr import import_pre_sr
from training.checkpoint_import.s3diff import import_s3diff
from training.checkpoint_import.simulator import import_simulator
from training.checkpoint_import.vrpsr_realesrgan import import_vrpsr_realesrgan
from training.checkpoint_import.vrpsr_s3diff import import_vrpsr_s3diff

KINDS = {
    "s3diff": import_s3diff,
    "de_net": import_de_net,
    "simulator": import_simulator,
    "vrpsr_s3diff": import_vrpsr_s3diff,
    "vrpsr_realesrgan": import_vrpsr_realesrgan,
    "pre_sr": import_pre_sr,
    "post_sr": import_post_sr,
}
NEEDS_SD_TURBO = ("s3diff", "simulator", "vrpsr_s3diff", "pre_sr", "post_sr")
