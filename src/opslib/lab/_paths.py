"""Where a lab keeps things inside its state directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opslib.errors import LabError
from opslib.lab._settings import LabSettings

__all__ = ["LabPaths", "load_recorded"]


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def marker(self) -> Path:
        """Proof that the directory is a lab's: ``down`` removes only such directories."""
        return self.root / ".opslib-lab"

    @property
    def settings(self) -> Path:
        return self.root / "lab.json"

    @property
    def runtime(self) -> Path:
        return self.root / "runtime.json"

    @property
    def control(self) -> Path:
        return self.root / "control.json"

    @property
    def config(self) -> Path:
        return self.root / "opslib.toml"

    @property
    def lock(self) -> Path:
        return self.root / "lab.lock"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def postgres(self) -> Path:
        return self.root / "pg"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"


def load_recorded(state_dir: Path) -> LabSettings:
    """The settings a lab in ``state_dir`` was started with."""
    path = LabPaths(state_dir).settings
    try:
        return LabSettings.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise LabError(f"no lab in {state_dir} (no {path.name})") from exc
    except ValueError as exc:
        raise LabError(f"{path} is unreadable: {exc}") from exc
