"""A service's build context from the compose files its containers were made from (their
``com.docker.compose.project.working_dir`` and ``config_files`` labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opslib.adapters._platform import ContainerInfo
from opslib.errors import ConfigError

__all__ = ["BuildSource", "compose_build"]

BuildSource = tuple[Path, str | None]
"""A build context directory and its Dockerfile (None: the context's ``Dockerfile``)."""


def compose_build(container: ContainerInfo) -> BuildSource | str:
    """The build context compose would use for ``container``'s service, or why there is none.

    The files are read in order, a later one overriding an earlier one's ``build`` as compose
    merges them; a relative context is relative to the project directory."""
    if not container.config_files:
        return "its containers carry no compose config_files label"
    try:
        import yaml
    except ModuleNotFoundError:
        return "reading compose files needs the pyyaml package: pip install 'opslib[cli]'"
    build: Any = None
    for name in container.config_files:
        path = Path(name)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            return f"compose file {path} cannot be read here: {exc.strerror or exc}"
        except yaml.YAMLError as exc:
            raise ConfigError(f"compose file {path}: {_first_line(exc)}") from exc
        services = loaded.get("services") if isinstance(loaded, dict) else None
        spec = services.get(container.service) if isinstance(services, dict) else None
        if isinstance(spec, dict) and "build" in spec:
            build = spec["build"]
    if build is None:
        return f"the compose files give service {container.service} no build"
    if isinstance(build, str):
        context, dockerfile = build, None
    elif isinstance(build, dict):
        context = str(build.get("context", "."))
        dockerfile = str(build["dockerfile"]) if build.get("dockerfile") else None
    else:
        raise ConfigError(f"compose: build of service {container.service} is not understood")
    base = Path(container.working_dir or Path(container.config_files[0]).parent)
    return (base / context).resolve(), dockerfile


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
