"""monthly.security_updates: the services' images and the endpoints' certificates, judged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from opslib.config import Settings
from opslib.results import CheckResult, Measurement, Severity, Table, Threshold
from opslib.updates._certs import CertificateInfo
from opslib.updates._images import ServiceImage

__all__ = ["SOP", "judge_certificates", "judge_images"]

SOP = "monthly.security_updates"
_FLAG = Threshold(crit=0)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "-"


def judge_images(images: Sequence[ServiceImage], settings: Settings, now: datetime) -> CheckResult:
    """Each service's image: its age against ``updates.image_age``, and a newer image with the
    same tag (here or in the registry) against ``updates.newer_images``."""
    title = f"images of compose project {settings.compose_project!r} are current"
    if not images:
        return CheckResult.unknown(SOP, title, "the project has no containers")
    age = settings.threshold("updates.image_age")
    newer = settings.threshold("updates.newer_images")
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    for image in images:
        days = image.age_days(now)
        note = (
            f"{image.reference} built {_when(image.created)}"
            if days is not None
            else (f"{image.reference}: build date unknown")
        )
        measurements.append(Measurement("image_age", days, age, image.service, note))
        why = []
        if image.newer_locally:
            why.append(
                f"{image.reference} names a newer local image built {_when(image.local_created)}"
            )
        if image.registry_newer:
            why.append(image.registry)
        measurements.append(
            Measurement("newer_image", float(image.newer), newer, image.service, "; ".join(why))
        )
        rows.append(
            (
                image.service,
                image.reference,
                image.running_id.removeprefix("sha256:")[:12],
                _when(image.created),
                "-" if days is None else f"{days:g}",
                "yes (local)" if image.newer_locally else "no",
                image.registry,
            )
        )
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation="opslib updates apply --dry-run, then opslib updates apply",
        tables=(
            Table(
                ("service", "image", "running", "built", "age days", "newer here", "registry"),
                tuple(rows),
                "service images",
            ),
        ),
    )


def judge_certificates(
    certificates: Sequence[CertificateInfo], settings: Settings, now: datetime
) -> CheckResult:
    """Days to expiry of each endpoint's certificate against ``updates.cert_days``; one that
    does not verify (name, issuer) is critical; one that cannot be fetched is UNKNOWN."""
    title = "TLS certificates of updates.endpoints are valid"
    if not certificates:
        return CheckResult.unknown(SOP, title, "no endpoint configured (updates.endpoints)")
    days_limit = settings.threshold("updates.cert_days")
    measurements: list[Measurement] = []
    rows: list[tuple[str, ...]] = []
    for cert in certificates:
        subject = str(cert.endpoint)
        if cert.error:
            measurements.append(Measurement("cert_days", None, days_limit, subject, cert.error))
            rows.append((subject, "-", "-", f"not fetched: {cert.error}"))
            continue
        days = cert.days_left(now)
        note = f"expires {_when(cert.not_after)} UTC"
        measurements.append(Measurement("cert_days", days, days_limit, subject, note))
        if cert.verify_error:
            measurements.append(
                Measurement("cert_not_verified", 1, _FLAG, subject, cert.verify_error)
            )
        rows.append((subject, _when(cert.not_after), f"{days:g}", cert.verify_error or "verified"))
    dated_problem = any(m.value is not None and m.severity is not Severity.OK for m in measurements)
    if not dated_problem:
        remediation = "make the endpoint answer TLS (or fix updates.endpoints), then check again"
    elif settings.updates.certbot_command:
        remediation = "opslib updates apply (runs updates.certbot_command: certbot renew)"
    else:
        remediation = "renew the certificate (certbot renew), then reload the server"
    return CheckResult(
        sop=SOP,
        title=title,
        measurements=tuple(measurements),
        remediation=remediation,
        tables=(Table(("endpoint", "expires", "days left", "verification"), tuple(rows)),),
    )
