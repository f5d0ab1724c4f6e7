"""Which S3Diff settings a run uses, and where each came from: defaults < --init-from < --s3diff-settings.

A run started from a checkpoint (``--init-from CK``: ours, or an imported S3Diff / VRPSR model) takes the
settings the checkpoint records for how its weights compute (INHERITED: LoRA ranks and scaling, the
degradation-guided LoRA, latent sampling, the timestep), and, when the checkpoint has a codec condition
(modulation other than "none"), how that condition enters (CONDITION_SETTINGS). Not inherited: the
DEResNet input scale (a property of the run's input: full-size picture or upsampled LQ) and the
inference-only guidance. ``--s3diff-settings`` overrides: the fields its JSON file names, or every field
when it is a checkpoint folder. The sources are reported in the run's summary.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from training.models.s3diff.settings import S3DiffSettings, settings_from_file

INHERITED = ("unet_lora_rank", "vae_lora_rank", "lora_alpha", "degradation_guided", "latent", "timestep")
CONDITION_SETTINGS = (
    "embedding",
    "modulation",
    "dims_per_scalar",
    "condition_units",
    "prompt_template",
    "codec_names",
    "prompt_source",
)


@dataclass(frozen=True)
class ChosenSettings:
    record: dict  # an S3DiffSettings as the architecture records keep it
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it came from (absent: default)

    def describe(self) -> str:
        """One line: which fields came from where (the rest are defaults)."""
        by_source: dict[str, list[str]] = {}
        for name, source in self.sources.items():
            by_source.setdefault(source, []).append(f"{name}={self.record[name]!r}")
        parts = [f"from {source}: {', '.join(values)}" for source, values in by_source.items()]
        return "S3Diff settings: " + ("; ".join(parts) + "; the rest default" if parts else "all default")


def recorded_settings(checkpoint: str | Path) -> dict | None:
    """The S3Diff settings a checkpoint folder records, or None (a weights file, or no record)."""
    folder = Path(checkpoint).expanduser()
    if not (folder / "config.json").is_file():
        return None
    try:
        return settings_from_file(folder)
    except ValueError:  # records no S3Diff settings
        return None


def choose_settings(
    init_from: str | None, settings_path: str | None, base: S3DiffSettings = S3DiffSettings()
) -> ChosenSettings:
    """The settings of a run with --init-from `init_from` and --s3diff-settings `settings_path` (either
    None) over `base` (the defaults of the model built: an SR generator's DEResNet sees its LQ at 1/4)."""
    record = dataclasses.asdict(base)
    sources: dict[str, str] = {}
    inherited = recorded_settings(init_from) if init_from else None
    if inherited is not None:
        names = INHERITED + (CONDITION_SETTINGS if inherited["modulation"] != "none" else ())
        for name in names:
            record[name], sources[name] = inherited[name], f"--init-from {init_from}"
    if settings_path:
        given = settings_from_file(settings_path)
        path = Path(settings_path).expanduser()
        names = given.keys() if path.is_dir() else json.loads(path.read_text()).keys()
        for name in names:
            record[name], sources[name] = given[name], f"--s3diff-settings {settings_path}"
    record = dataclasses.asdict(S3DiffSettings.from_record(record))  # validated as a whole
    return ChosenSettings(record, sources)
