"""The deploy gate (runbook Maintenance Procedures: verify health, verify data flow): checks
before a deploy that save a baseline, and the post-deploy gate CI runs, which fails on what the
deploy made worse and not on what was already red."""

from opslib.gate._baseline import (
    SCHEMA_VERSION,
    Baseline,
    BaselineFile,
    ContainerList,
    ErrorFigures,
    QualityFigures,
    capture,
    error_figures,
    load_baseline,
    quality_figures,
    read_baseline,
    running_containers,
    save_baseline,
)
from opslib.gate._checks import (
    POST_SOP,
    PRE_SOP,
    baseline_saved,
    baseline_status,
    confidence_not_worse,
    coverage_not_worse,
    data_flowing,
    errors_not_worse,
    maintenance_off,
    services_up,
    verified_backup_recent,
)
from opslib.gate._compare import Comparison, ThresholdLookup, compare

__all__ = [
    "POST_SOP",
    "PRE_SOP",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineFile",
    "Comparison",
    "ContainerList",
    "ErrorFigures",
    "QualityFigures",
    "ThresholdLookup",
    "baseline_saved",
    "baseline_status",
    "capture",
    "compare",
    "confidence_not_worse",
    "coverage_not_worse",
    "data_flowing",
    "error_figures",
    "errors_not_worse",
    "load_baseline",
    "maintenance_off",
    "quality_figures",
    "read_baseline",
    "running_containers",
    "save_baseline",
    "services_up",
    "verified_backup_recent",
]
