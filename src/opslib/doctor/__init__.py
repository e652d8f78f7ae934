"""``opslib doctor``: the first command on a new platform.

It reaches every configured dependency with the configured timeouts, looks up the names each
check reads (metrics, tables, containers, the backup directory, the judge) and says, per SOP
check, whether it can run fully, partly (what is missing) or not at all, with the fix.
"""

from opslib.doctor._model import (
    CHECKS,
    CheckNeeds,
    DoctorReport,
    Level,
    Probe,
    Readiness,
    readiness,
)
from opslib.doctor._probes import (
    ContainerProbe,
    PromProbe,
    probe_backups,
    probe_docker,
    probe_metrics,
    probe_postgres,
    probe_prometheus,
    probe_proxies,
)
from opslib.doctor._run import run_doctor

__all__ = [
    "CHECKS",
    "CheckNeeds",
    "ContainerProbe",
    "DoctorReport",
    "Level",
    "Probe",
    "PromProbe",
    "Readiness",
    "probe_backups",
    "probe_docker",
    "probe_metrics",
    "probe_postgres",
    "probe_prometheus",
    "probe_proxies",
    "readiness",
    "run_doctor",
]
