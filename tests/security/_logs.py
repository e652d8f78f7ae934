"""Access log lines for the security tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["NOW", "clf"]

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def clf(
    ip: str,
    path: str = "/api/v1/prices",
    status: int = 200,
    *,
    at: datetime = NOW,
    user: str = "-",
    agent: str | None = "pricewatch-client/1.2",
    method: str = "GET",
) -> bytes:
    """One line: combined format, or common format when ``agent`` is None."""
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = f'{ip} - {user} [{stamp}] "{method} {path} HTTP/1.1" {status} 512'
    if agent is not None:
        line += f' "-" "{agent}"'
    return (line + "\n").encode()


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
