"""The lab: a small but real price-monitoring stack on 127.0.0.1 for demos and tests.

PostgreSQL with days of history, shop sites, forward proxies, scraper workers (containers of the
compose project when Docker is reachable) and Prometheus; faults can be injected and healed.
"""

from opslib.lab._faults import FAULTS
from opslib.lab._lab import ComponentStatus, FaultStatus, Lab, LabStatus, lab_thresholds
from opslib.lab._settings import PORT_SPAN, LabSettings

__all__ = [
    "FAULTS",
    "PORT_SPAN",
    "ComponentStatus",
    "FaultStatus",
    "Lab",
    "LabSettings",
    "LabStatus",
    "lab_thresholds",
]
