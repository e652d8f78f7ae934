"""monthly.security_updates: the services' images (age, a newer image with the same tag) and
the endpoints' TLS certificates (days to expiry); the runbook's pull, rebuild and restart."""

from opslib.updates._apply import (
    CertbotOutcome,
    UpdatePlan,
    UpdateReport,
    apply_update,
    judge_certbot,
    plan_update,
    run_certbot,
)
from opslib.updates._certs import CertificateInfo, Endpoint, fetch_certificate, fetch_certificates
from opslib.updates._check import judge_certificates, judge_images
from opslib.updates._images import ServiceImage, service_images

__all__ = [
    "CertbotOutcome",
    "CertificateInfo",
    "Endpoint",
    "ServiceImage",
    "UpdatePlan",
    "UpdateReport",
    "apply_update",
    "fetch_certificate",
    "fetch_certificates",
    "judge_certbot",
    "judge_certificates",
    "judge_images",
    "plan_update",
    "run_certbot",
    "service_images",
]
