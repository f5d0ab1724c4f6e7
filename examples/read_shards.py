"""Read a vrpsr dataset in a plain PyTorch loop: python examples/read_shards.py DATASET [--steps N].

DATASET is a folder made by `vrpsr generate` or an s3://bucket/prefix (credentials and AWS_ENDPOINT_URL
from the environment). Every item field is described in the README ("Loader items").
"""

from __future__ import annotations

import argparse
import os

import torch

from shards import open_dataset
from shards.loader import ConditionSpec, ShardLoader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a dataset folder or s3://bucket/prefix")
    parser.add_argument("--steps", type=int, default=3, help="batches to read")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (0: read in-process)")
    args = parser.parse_args()

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    dataset = open_dataset(
        args.dataset,
        condition=ConditionSpec(qp_range=(30, 50)),  # QP q with q-10 coded too: 20-50/2 grids give 30..50
        crop=64,  # must be a multiple of the scale (4) and at most the dataset's --size; 256-512 for real training
        seed=0,
        resampled=True,  # an endless stream: the loop decides when to stop
        storage_options={"client_kwargs": {"endpoint_url": endpoint}} if endpoint else None,
    )
    loader = ShardLoader(dataset, batch_size=args.batch_size, num_workers=args.workers)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for step, batch in enumerate(loader):
        if step == args.steps:
            break
        clean = batch["clean"].to(device)  # B x 3 x 64 x 64, float32 in [0, 1]: the target
        lq = batch["lq"].to(device)  # B x 3 x 16 x 16: the SR input (1/4 size)
        codec_out = batch["codec_out"].to(device)  # the clean crop through the codec at QP q
        # ... your model and loss go here, e.g. loss = (model(lq, batch["bpp"]) - clean).abs().mean()
        mse = torch.mean((codec_out - clean) ** 2, dim=(1, 2, 3))
        print(
            f"step {step}: clean {tuple(clean.shape)}, lq {tuple(lq.shape)}, qp {batch['qp'].tolist()}, "
            f"bpp {[round(b, 4) for b in batch['bpp'].tolist()]}, codec PSNR "
            f"{[round(float(v), 2) for v in -10 * torch.log10(mse)]} dB, prompt {batch['prompt'][0]!r}"
        )
    print(f"read {min(step, args.steps)} batches; the loader's resume state: {sorted(loader.state_dict())}")


# The guard is required, not style: with num_workers > 0 ShardLoader starts its workers with
# multiprocessing's "forkserver", which re-imports this script in every worker. Without the guard each
# worker would run the whole loop again (PyTorch stops it: "bootstrapping phase", "worker exited").
if __name__ == "__main__":
    main()
