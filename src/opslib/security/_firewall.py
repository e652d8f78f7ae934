"""The blocklist exported for the edge: an nftables table with interval sets, or nginx
``deny`` lines. Generated, validated with ``nft -c -f`` when nft is installed, applied only on
request."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opslib._files import write_atomic
from opslib.errors import DependencyError, InputError
from opslib.security._ranges import Network

__all__ = ["FirewallRules", "apply_rules", "render_rules", "validate_rules"]

Format = Literal["nft", "nginx"]
_TIMEOUT = 30.0


@dataclass(frozen=True)
class FirewallRules:
    """Rules for ``networks`` in ``format``; ``validated`` says how they were checked."""

    format: Format
    text: str
    networks: int
    validated: str = "not validated"


def _nft(networks: Sequence[Network], table: str) -> str:
    v4 = [str(n) for n in networks if n.version == 4]
    v6 = [str(n) for n in networks if n.version == 6]
    lines = [
        "# opslib security firewall: the blocklist (generated; replaced whole on apply)",
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for name, kind, items in (("blocked4", "ipv4_addr", v4), ("blocked6", "ipv6_addr", v6)):
        lines.append(f"\tset {name} {{")
        lines.append(f"\t\ttype {kind}")
        lines.append("\t\tflags interval")
        if items:
            lines.append("\t\tauto-merge")
            lines.append(f"\t\telements = {{ {', '.join(items)} }}")
        lines.append("\t}")
    lines += [
        "\tchain input {",
        "\t\ttype filter hook input priority filter - 10; policy accept;",
        "\t\tip saddr @blocked4 counter drop",
        "\t\tip6 saddr @blocked6 counter drop",
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _nginx(networks: Sequence[Network]) -> str:
    lines = ["# opslib security firewall: the blocklist (generated; include it in http {})"]
    lines += [f"deny {n};" for n in networks]
    return "\n".join(lines) + "\n"


def render_rules(networks: Sequence[Network], format: Format, *, table: str = "opslib") -> str:
    """The rules text for ``networks`` (sorted, as given)."""
    return _nft(networks, table) if format == "nft" else _nginx(networks)


def validate_rules(text: str, format: Format) -> str:
    """Check the rules: ``nft -c -f`` for nftables when nft is installed; returns how they were
    validated; DependencyError when nft rejects them."""
    if format == "nginx":
        return "nginx deny lines (checked by `nginx -t` when nginx loads them)"
    nft = shutil.which("nft")
    if nft is None:
        return "not validated: nft is not installed here"
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as fh:
        fh.write(text)
        name = fh.name
    try:
        done = subprocess.run(
            [nft, "-c", "-f", name], capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DependencyError("nft", f"nft -c did not finish in {_TIMEOUT:g} s") from exc
    finally:
        os.unlink(name)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise DependencyError("nft", f"nft -c rejected the rules: {first}")
    return "validated with nft -c"


def apply_rules(text: str, format: Format, output: Path | None) -> str:
    """Apply: ``nft -f`` for nftables (the table replaced whole), or for nginx write
    ``output`` atomically (then reload nginx). Returns what was done."""
    if format == "nginx" or output is not None:
        if output is None:
            raise InputError("--apply with --format nginx needs --output FILE (the include file)")
        try:
            write_atomic(output, text, mkdir=False)
        except OSError as exc:
            raise InputError(f"{output}: {exc.strerror or exc}") from None
        if format == "nginx":
            return f"wrote {output}; reload nginx (nginx -t && nginx -s reload)"
    nft = shutil.which("nft")
    if nft is None:
        raise DependencyError("nft", "nft is not installed here: nothing applied")
    try:
        done = subprocess.run(
            [nft, "-f", "-"], input=text, capture_output=True, text=True, timeout=_TIMEOUT,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise DependencyError("nft", f"nft -f did not finish in {_TIMEOUT:g} s") from exc
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise DependencyError("nft", f"nft -f failed: {first}")
    return "applied with nft -f"


def build_rules(networks: Sequence[Network], format: Format, *, table: str) -> FirewallRules:
    """Render and validate."""
    ordered = sorted(networks, key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    text = render_rules(ordered, format, table=table)
    return FirewallRules(format, text, len(ordered), validate_rules(text, format))
