"""Build hook: compile opslib.security's per-line log scanner (``src/opslib/security/_scan.c``).

The extension is optional: without a C compiler the build goes on, says so, and the analysis
takes its pure-Python way (slower, same results). ``OPSLIB_NO_EXTENSION=1`` skips it; ``CC``
chooses the compiler.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/opslib/security/_scan.c")


class ScannerBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the scanner next to its source (an editable install imports it from there)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("OPSLIB_NO_EXTENSION"):
            return
        root = Path(self.root)
        source = root / SOURCE
        target = source.with_name("_scan" + str(sysconfig.get_config_var("EXT_SUFFIX")))
        compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        command = [
            *compiler, "-O2", "-shared", "-fPIC", "-fno-strict-aliasing",
            "-I", sysconfig.get_paths()["include"], str(source), "-o", str(target),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.app.display_warning(f"opslib: log scanner not compiled ({exc}); pure Python")
            return
        if done.returncode != 0:
            self.app.display_warning(
                f"opslib: log scanner not compiled ({done.stderr.strip()[-400:]}); pure Python"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(str(target.relative_to(root)))
