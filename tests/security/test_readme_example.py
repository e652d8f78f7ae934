"""The README's [security] example is a valid configuration."""

from __future__ import annotations

from pathlib import Path

from opslib.config import load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_security_settings_load(tmp_path: Path) -> None:
    section = README.read_text().split("## Security incidents", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "opslib.toml"
    path.write_text(example)
    settings = load_settings(path)
    assert settings.security.allowlist == ["10.0.0.0/24", "192.0.2.10"]
    assert settings.security.access_logs == [Path("/var/log/pricewatch/api-access.log")]
