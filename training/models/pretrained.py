"""Finding SD-Turbo on disk: a local folder, or a repo id already in the hub cache (never downloads)."""

from __future__ import annotations

from pathlib import Path

# subfolder -> (file that must be there, whether model weights must be there too)
SD_TURBO_LAYOUT = {
    "unet": ("config.json", True),
    "vae": ("config.json", True),
    "text_encoder": ("config.json", True),
    "tokenizer": ("tokenizer_config.json", False),
    "scheduler": ("scheduler_config.json", False),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def _missing(path: Path, what: str, repo_id: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what} is missing under {path}: download {repo_id} to {path} "
        f"(e.g. `hf download {repo_id} --local-dir {path}`; no random fallback is used), or use a weight-free "
        "backbone: vrpsr train simulator --backbone small, vrpsr train sr --backbone rrdbnet"
    )


def resolve_pretrained(path_or_repo: str | Path, repo_id: str = "stabilityai/sd-turbo") -> Path:
    """A local folder, or a repo id already in the hub cache (never downloads); checks the layout."""
    path = Path(path_or_repo).expanduser()
    if not path.is_dir() and str(path_or_repo).count("/") == 1 and not Path(path_or_repo).is_absolute():
        from huggingface_hub import snapshot_download  # only to look into the local cache

        try:
            path = Path(snapshot_download(str(path_or_repo), local_files_only=True))
        except Exception as error:  # the hub raises several types for "not cached"
            raise FileNotFoundError(
                f"{path_or_repo} is not in the hub cache and is not a folder: "
                f"download {repo_id} to a folder and pass its path, or use a weight-free backbone: "
                "vrpsr train simulator --backbone small, vrpsr train sr --backbone rrdbnet"
            ) from error
    if not path.is_dir():
        raise _missing(path, "the model folder", repo_id)
    for subfolder, (config_name, needs_weights) in SD_TURBO_LAYOUT.items():
        if not (path / subfolder / config_name).is_file():
            raise _missing(path, f"{subfolder}/{config_name}", repo_id)
        if needs_weights and not any(f.name.endswith(WEIGHT_SUFFIXES) for f in (path / subfolder).iterdir()):
            raise _missing(path, f"{subfolder}/ weights (*.safetensors)", repo_id)
    return path
