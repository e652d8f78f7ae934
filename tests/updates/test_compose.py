"""A service's build context from its compose files (the compose labels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opslib.adapters._platform import ContainerInfo
from opslib.errors import ConfigError
from opslib.updates._compose import compose_build


def _container(tmp_path: Path, *files: str) -> ContainerInfo:
    return ContainerInfo(
        id="x", name="p-app-1", service="app", number=1, state="running", health=None,
        restart_count=0, started_at=None, exit_code=None, image="p-app:1",
        working_dir=str(tmp_path), config_files=tuple(str(tmp_path / f) for f in files),
    )  # fmt: skip


def test_string_and_mapping_builds(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build: ./app\n")
    assert compose_build(_container(tmp_path, "compose.yaml")) == (tmp_path / "app", None)
    (tmp_path / "override.yaml").write_text(
        "services:\n  app:\n    build:\n      context: src\n      dockerfile: Dockerfile.prod\n"
    )
    found = compose_build(_container(tmp_path, "compose.yaml", "override.yaml"))
    assert found == (tmp_path / "src", "Dockerfile.prod")


def test_no_build_is_said(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: shop/app:1\n")
    assert compose_build(_container(tmp_path, "compose.yaml")) == (
        "the compose files give service app no build"
    )
    assert compose_build(_container(tmp_path)) == (
        "its containers carry no compose config_files label"
    )
    missing = compose_build(_container(tmp_path, "gone.yaml"))
    assert isinstance(missing, str)
    assert missing.endswith("cannot be read here: No such file or directory")


def test_broken_yaml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: [\n")
    with pytest.raises(ConfigError, match=r"compose file .*compose\.yaml"):
        compose_build(_container(tmp_path, "compose.yaml"))
