"""The published S3Diff architecture (degradation-guided LoRA on SD-Turbo, DEResNet) and VRPSR's condition path.

  settings.py        S3DiffSettings: every option, recorded in checkpoints
  lora.py            DegradationLoRA layers, the published target lists and block assignment
  de_net.py          DEResNet, the degradation estimator
  guidance.py        scores -> Fourier -> de / block / fuse MLPs -> one r x r matrix per block
  condition_path.py  c -> per-ResnetBlock2D (shift, scale) (VRPSR) or our FiLM
The assembled model is training.models.simulator.CodecSimulator (and S3DiffSR for super-resolution).
"""
