"""The maintenance procedures (runbook: Maintenance Procedures) as resumable, audited runs.

Steps are small objects (``plan``, ``run``, ``verify``) composed into a :class:`Procedure`;
:func:`run_procedure` runs a :class:`Plan` one run at a time, records every step in
``opslib.procedure_runs`` and the audit log, and continues a failed or killed run on resume.
"""

from opslib.procedure._configs import (
    ConfigChange,
    install_config_set,
    plan_config_set,
    rollback_config_set,
)
from opslib.procedure._plan import EMERGENCY_STEPS, RUNBOOK_STEPS, Plan, read_plan
from opslib.procedure._runner import (
    PAUSE_ENV,
    RunReport,
    StepFailed,
    abandon_run,
    describe_run,
    run_procedure,
)
from opslib.procedure._runs import ProcedureRun, RunStore, StepRecord
from opslib.procedure._step import (
    Procedure,
    ProcedureContext,
    ServiceControl,
    Skip,
    Step,
    optional,
    retried,
)
from opslib.procedure._steps import PLATFORM_SET, STEPS, StepOptions, make_step

__all__ = [
    "EMERGENCY_STEPS",
    "PAUSE_ENV",
    "PLATFORM_SET",
    "RUNBOOK_STEPS",
    "STEPS",
    "ConfigChange",
    "Plan",
    "Procedure",
    "ProcedureContext",
    "ProcedureRun",
    "RunReport",
    "RunStore",
    "ServiceControl",
    "Skip",
    "Step",
    "StepFailed",
    "StepOptions",
    "StepRecord",
    "abandon_run",
    "describe_run",
    "install_config_set",
    "make_step",
    "optional",
    "plan_config_set",
    "read_plan",
    "retried",
    "rollback_config_set",
    "run_procedure",
]
