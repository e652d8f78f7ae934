"""TLS certificates of the configured endpoints: days to expiry, and whether they verify."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from opslib.errors import ConfigError, InputError

__all__ = ["CertificateInfo", "Endpoint", "fetch_certificate", "fetch_certificates"]


@dataclass(frozen=True)
class Endpoint:
    """A TLS endpoint: ``host:port`` or an ``https://`` URL (port 443 by default)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``host:port``, ``[v6]:port`` or ``https://host[:port]/...``; InputError otherwise."""
        raw = text.strip()
        url = urlsplit(raw if "://" in raw else f"tls://{raw}")
        try:
            port = url.port
        except ValueError as exc:
            raise InputError(f"TLS endpoint {raw!r}: {exc}") from exc
        if url.scheme not in ("https", "tls") or not url.hostname:
            raise InputError(f"TLS endpoint {raw!r} is not host:port or an https:// URL")
        if port is None:
            if url.scheme != "https":
                raise InputError(f"TLS endpoint {raw!r} needs a port (host:port)")
            port = 443
        return cls(url.hostname, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class CertificateInfo:
    """What an endpoint's certificate says; ``error`` when none could be fetched."""

    endpoint: Endpoint
    not_after: datetime | None = None
    subject: str = ""
    verify_error: str = ""  # why it does not verify (name, issuer, expired); "" when it does
    error: str = ""  # why no certificate was fetched

    def days_left(self, now: datetime) -> float | None:
        """Days until it expires (negative once expired); None when none was fetched."""
        if self.not_after is None:
            return None
        return round((self.not_after - now).total_seconds() / 86400, 1)


def fetch_certificate(
    endpoint: Endpoint, *, timeout: float, ca_file: Path | None = None
) -> CertificateInfo:
    """The certificate ``endpoint`` presents (read without verification, so an expired or
    misnamed one is still dated), then whether it verifies against the system's trust store
    (and ``ca_file``) for the endpoint's host name. Never raises for a network failure."""
    try:
        from cryptography import x509
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "reading certificates needs the cryptography package: pip install 'opslib[cli]'"
        ) from exc
    try:
        der = _handshake(endpoint, _unverified(), timeout)
    except OSError as exc:
        return CertificateInfo(endpoint, error=_why(exc, timeout))
    if der is None:
        return CertificateInfo(endpoint, error="the server presented no certificate")
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return CertificateInfo(endpoint, error=f"unreadable certificate: {exc}")
    verify_error = ""
    try:
        _handshake(endpoint, _verifying(ca_file), timeout)
    except ssl.SSLCertVerificationError as exc:
        verify_error = str(exc.verify_message or exc.reason or exc)
    except OSError as exc:
        verify_error = f"not verified: {_why(exc, timeout)}"
    return CertificateInfo(
        endpoint,
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
        verify_error=verify_error,
    )


def fetch_certificates(
    endpoints: Sequence[Endpoint], *, timeout: float, ca_file: Path | None = None
) -> list[CertificateInfo]:
    """:func:`fetch_certificate` of every endpoint concurrently, in order."""
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(len(endpoints), 8)) as pool:
        return list(
            pool.map(lambda e: fetch_certificate(e, timeout=timeout, ca_file=ca_file), endpoints)
        )


def now_utc() -> datetime:
    """The current time (a seam for tests)."""
    return datetime.now(UTC)


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _verifying(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def _handshake(endpoint: Endpoint, context: ssl.SSLContext, timeout: float) -> bytes | None:
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        with context.wrap_socket(raw, server_hostname=endpoint.host) as tls:
            return tls.getpeercert(binary_form=True)


def _why(exc: OSError, timeout: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no TLS handshake within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc.strerror or exc}"
