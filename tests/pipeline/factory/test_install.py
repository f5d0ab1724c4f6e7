"""The factory's install and cluster: ray_cluster.yaml passes Ray's own config validation and runs the
factory-only setup from the venv; constraints.txt pins what this venv really has; the base dependencies
hold no torch stack (the `train` extra does)."""

from __future__ import annotations

import re
from importlib import metadata

import pytest
import tomllib
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from pipeline.versions import BYTE_DECIDING_PACKAGES
from tests.pipeline.factory_helpers import REPO

TORCH_STACK = ("torch", "torchvision", "diffusers", "transformers", "peft", "accelerate", "lpips")


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def cluster_config() -> dict:
    return yaml.safe_load((REPO / "ray_cluster.yaml").read_text())


def test_cluster_config_passes_rays_validation(cluster_config):
    prepared = prepare_config(cluster_config)
    validate_config(prepared)  # raises jsonschema.ValidationError on a bad key or a missing field
    assert set(prepared["available_node_types"]) == {"head", "cpu_worker"}


def test_cluster_config_validation_catches_a_broken_config(cluster_config):
    broken = {**cluster_config, "available_node_types": {"head": {"node_config": {}}}}
    with pytest.raises(Exception, match="'resources' is a required property"):
        validate_config(prepare_config(broken))


def test_cluster_nodes_install_the_factory_only_from_a_synced_checkout_without_venv(cluster_config):
    prepared = prepare_config(cluster_config)
    assert any("./setup.sh --factory" in command for command in prepared["worker_setup_commands"])
    assert any("./setup.sh --factory" in command for command in prepared["head_setup_commands"])
    assert any("boto3" in command and "-c constraints.txt" in command for command in prepared["head_setup_commands"])
    assert ".venv" in cluster_config["rsync_exclude"] and "**/.git" in cluster_config["rsync_exclude"]
    for command in cluster_config["head_start_ray_commands"] + cluster_config["worker_start_ray_commands"]:
        for call in re.findall(r"(\S*ray) (?:stop|start)\b", command):
            assert call == "~/vrpsr/.venv/bin/ray", f"{command!r} calls ray outside the venv"


def test_setup_uses_the_constraints_file_in_every_mode():
    script = (REPO / "setup.sh").read_text()
    assert "pip install -q -c constraints.txt -e" in script
    assert '--factory) EXTRAS=""' in script and '--dev) EXTRAS="[train,dev]"' in script


def test_constraints_pin_this_venvs_versions_of_the_byte_deciding_packages_and_ray():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    for name in (*BYTE_DECIDING_PACKAGES, "ray"):
        assert pins.get(name) == metadata.version(name), (
            f"constraints.txt pins {name}=={pins.get(name)}, installed {metadata.version(name)}"
        )


def test_base_dependencies_hold_no_torch_stack_and_the_train_extra_does():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {_requirement_name(requirement) for requirement in project["dependencies"]}
    train = {_requirement_name(requirement) for requirement in project["optional-dependencies"]["train"]}
    assert not base & set(TORCH_STACK)
    assert set(TORCH_STACK) <= train
    assert {"av", "imageio-ffmpeg", "numpy", "ray", "pyarrow", "s3fs"} <= base
