"""The runbook's maintenance steps, each a small object that plans, runs and verifies itself."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import httpx
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field

from opslib.adapters import ContainerInfo
from opslib.backups import Catalog, create_backup
from opslib.errors import ConfigError, DataError, DependencyError
from opslib.health import error_rate, service_status
from opslib.maintenance import MaintenanceMode
from opslib.migrations import apply_migrations, from_directory, migrate, pending
from opslib.notify import channels_for, completion_notice, maintenance_notice, send_notice
from opslib.procedure._configs import install_config_set, installed, plan_config_set
from opslib.procedure._step import Procedure, ProcedureContext, Skip, Step
from opslib.quality import PlatformSchema
from opslib.redact import redact
from opslib.results import Severity

__all__ = ["PLATFORM_SET", "STEPS", "StepOptions", "make_step"]

PLATFORM_SET = "platform_dir"
"""The migration set under which a platform's own migrations are recorded."""


class StepOptions(BaseModel):
    """Options a plan file may give a step (``[step.<name>]``); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Base:
    name: ClassVar[str]
    Options: ClassVar[type[StepOptions]] = StepOptions

    def __init__(self, options: StepOptions | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def __add__(self, other: Step | Procedure) -> Procedure:
        return Procedure(self) + other

    def plan(self, ctx: ProcedureContext) -> str:
        raise NotImplementedError

    def run(self, ctx: ProcedureContext) -> str:
        raise NotImplementedError

    def verify(self, ctx: ProcedureContext) -> str:
        return "ok"


def _mode(ctx: ProcedureContext) -> MaintenanceMode:
    return MaintenanceMode(ctx.db, ctx.settings.maintenance)


def _platform_name(ctx: ProcedureContext) -> str:
    return ctx.settings.platform_name or ctx.settings.compose_project


def _who(ctx: ProcedureContext) -> str:
    from opslib.audit import current_actor

    return ctx.settings.actor or current_actor()


# notices


class NoticeOptions(StepOptions):
    """``required``: a notice no channel took fails the step (else it is reported)."""

    required: bool = True


class _NoticeBase(_Base):
    Options = NoticeOptions
    kind: ClassVar[Literal["maintenance", "completion"]]

    def plan(self, ctx: ProcedureContext) -> str:
        names = [c.label for c in channels_for(self.kind, ctx.settings.notify)]
        if not names:
            return f"no channel carries {self.kind} notices: skipped"
        return f"send the {self.kind} notice to {', '.join(names)}"

    def notice(self, ctx: ProcedureContext) -> Any:
        raise NotImplementedError

    def run(self, ctx: ProcedureContext) -> str:
        channels = channels_for(self.kind, ctx.settings.notify)
        if not channels:
            raise Skip(f"no notification channel carries {self.kind} notices")
        key = f"{self.name}.sent"
        sent = set(ctx.facts.get(key, []))
        todo = [c for c in channels if c.label not in sent]
        if not todo:
            return f"already sent to {', '.join(sorted(sent))}"
        report = send_notice(self.notice(ctx), ctx.settings.notify, channels=todo)
        ctx.facts[key] = sorted(sent | {d.channel for d in report.sent})
        ctx.save()
        if report.failed:
            assert isinstance(self.options, NoticeOptions)
            text = redact(report.summary())
            if self.options.required:
                raise DependencyError(
                    "notify",
                    f"{text}; fix the channel, then --resume sends it again to the channels"
                    " that failed (or set required = false for this step in the plan)",
                )
            return f"{text} (not required: the run goes on)"
        return report.summary()

    def verify(self, ctx: ProcedureContext) -> str:
        channels = {c.label for c in channels_for(self.kind, ctx.settings.notify)}
        missing = sorted(channels - set(ctx.facts.get(f"{self.name}.sent", [])))
        assert isinstance(self.options, NoticeOptions)
        if missing and self.options.required:
            raise DependencyError("notify", f"not sent to {', '.join(missing)}")
        return "sent" if not missing else f"not sent to {', '.join(missing)} (not required)"


class NoticeStep(_NoticeBase):
    """The maintenance notice (runbook: ``send_maintenance_notice``)."""

    name = "notice"
    kind = "maintenance"

    def notice(self, ctx: ProcedureContext) -> Any:
        now = datetime.now(UTC)
        return maintenance_notice(
            start=now,
            until=now + timedelta(minutes=ctx.settings.procedure.window_minutes),
            reason=ctx.reason,
            contact=ctx.settings.notify.contact or _who(ctx),
            platform=_platform_name(ctx),
            announced_by=_who(ctx),
            zone=ZoneInfo(ctx.settings.notify.timezone),
        )


class CompletionNoticeStep(_NoticeBase):
    """The completion notice (runbook: ``send_completion_notice``)."""

    name = "completion_notice"
    kind = "completion"

    def notice(self, ctx: ProcedureContext) -> Any:
        started = ctx.facts.get("started_at")
        done = ", ".join(ctx.facts.get("done", [])) or "nothing"
        return completion_notice(
            outcome="ok",
            summary=f"{ctx.reason}: {done}",
            started=datetime.fromisoformat(started) if started else None,
            ended=datetime.now(UTC),
            contact=ctx.settings.notify.contact or _who(ctx),
            platform=_platform_name(ctx),
            announced_by=_who(ctx),
            zone=ZoneInfo(ctx.settings.notify.timezone),
        )


# backup


class BackupOptions(StepOptions):
    """``kind``: ``regular`` or ``emergency`` (fastest compression, kept apart by retention)."""

    kind: Literal["regular", "emergency"] = "regular"


class BackupStep(_Base):
    """Database dump and config tarball (runbook: ``pg_dump`` and ``tar -czf config``)."""

    name = "backup"
    Options = BackupOptions

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, BackupOptions)
        paths = len(ctx.settings.backups.config_paths)
        return (
            f"{self.options.kind} backup: dump the database and tar {paths} config path(s)"
            f" into {ctx.settings.backups.backup_dir}"
        )

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, BackupOptions)
        made = create_backup(
            ctx.db, ctx.settings.backups, kind=self.options.kind, tables=ctx.settings.tables
        )
        ctx.facts["backup"] = made.name
        return f"backup {made.name} ({made.seconds:.1f} s)"

    def verify(self, ctx: ProcedureContext) -> str:
        name = ctx.facts.get("backup")
        record = Catalog(ctx.db, ctx.settings.backups.backup_dir).get(name) if name else None
        if record is None or record.state != "complete" or not record.path.is_dir():
            raise DataError(f"backup {name} is not complete in the catalogue and the directory")
        return f"backup {name} complete in {record.path}"


# maintenance mode


class MaintenanceOnStep(_Base):
    """Maintenance mode on for everything (runbook: ``enable_maintenance_mode``)."""

    name = "maintenance_on"

    def plan(self, ctx: ProcedureContext) -> str:
        return (
            f"open a maintenance window for everything for"
            f" {ctx.settings.procedure.window_minutes:g} min: {ctx.reason}"
        )

    def run(self, ctx: ProcedureContext) -> str:
        until = datetime.now(UTC) + timedelta(minutes=ctx.settings.procedure.window_minutes)
        return _mode(ctx).enable(ctx.reason, until=until, actor=_who(ctx)).describe()

    def verify(self, ctx: ProcedureContext) -> str:
        status = _mode(ctx).status()
        if not any(w.scope.everything for w in status.windows):
            raise DataError("no maintenance window for everything is open")
        return "maintenance mode is on"


class MaintenanceOffStep(_Base):
    """Maintenance mode off (runbook: ``disable_maintenance_mode``)."""

    name = "maintenance_off"

    def plan(self, ctx: ProcedureContext) -> str:
        return "close every open maintenance window"

    def run(self, ctx: ProcedureContext) -> str:
        return _mode(ctx).disable(_who(ctx)).describe()

    def verify(self, ctx: ProcedureContext) -> str:
        if _mode(ctx).status().windows:
            raise DataError("a maintenance window is still open")
        return "maintenance mode is off"


# services


class ServicesOptions(StepOptions):
    """``services``: which (default ``procedure.services``, empty: all of the project);
    ``timeout``: seconds (default ``procedure.stop_timeout`` / ``start_timeout``)."""

    services: list[str] | None = None
    timeout: float | None = Field(None, gt=0, le=3600)


def _chosen(ctx: ProcedureContext, options: ServicesOptions) -> list[str]:
    return options.services if options.services is not None else ctx.settings.procedure.services


def _describe_services(services: list[str]) -> str:
    return ", ".join(services) if services else "every service"


class StopServicesStep(_Base):
    """Stop the project's containers gracefully (runbook: ``docker-compose down`` / ``stop``)."""

    name = "stop_services"
    Options = ServicesOptions

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, ServicesOptions)
        timeout = self.options.timeout or ctx.settings.procedure.stop_timeout
        return (
            f"stop {_describe_services(_chosen(ctx, self.options))} of compose project"
            f" {ctx.settings.compose_project} (SIGTERM, SIGKILL after {timeout:g} s)"
        )

    def _targets(self, ctx: ProcedureContext) -> list[ContainerInfo]:
        assert isinstance(self.options, ServicesOptions)
        wanted = set(_chosen(ctx, self.options))
        found = ctx.require_services().containers()
        return [c for c in found if not wanted or c.service in wanted]

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, ServicesOptions)
        targets = self._targets(ctx)
        if not targets:
            raise Skip(
                f"no container of compose project {ctx.settings.compose_project} for"
                f" {_describe_services(_chosen(ctx, self.options))}: services that are not"
                " containers are the platform's to stop (maintenance mode holds the scrapers)"
            )
        running = [c for c in targets if c.running]
        # Recorded before stopping: a kill mid-stop still knows what to start again.
        stopped = dict(ctx.facts.get("stopped", {}))
        stopped.update({c.id: c.name for c in running})
        ctx.facts["stopped"] = stopped
        ctx.save()
        timeout = self.options.timeout or ctx.settings.procedure.stop_timeout
        names = ctx.require_services().stop(running, timeout=timeout)
        return f"stopped {len(names)} container(s): {', '.join(sorted(names)) or 'none running'}"

    def verify(self, ctx: ProcedureContext) -> str:
        ids = set(ctx.facts.get("stopped", {}))
        still = [c.name for c in ctx.require_services().containers() if c.id in ids and c.running]
        if still:
            raise DependencyError("docker", f"still running: {', '.join(still)}")
        return f"{len(ids)} container(s) stopped"


class StartServicesStep(_Base):
    """Start what was stopped and wait for it to run (runbook: ``docker-compose up -d``)."""

    name = "start_services"
    Options = ServicesOptions

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, ServicesOptions)
        timeout = self.options.timeout or ctx.settings.procedure.start_timeout
        return f"start the stopped containers; running (and healthy) within {timeout:g} s"

    def run(self, ctx: ProcedureContext) -> str:
        stopped: dict[str, str] = dict(ctx.facts.get("stopped", {}))
        if not stopped:
            raise Skip("nothing was stopped")
        services = ctx.require_services()
        mine = [c for c in services.containers() if c.id in stopped]
        started = services.start(mine)
        self._wait(ctx, set(stopped))
        return f"started {len(started)} container(s): {', '.join(sorted(started)) or 'none'}"

    def _wait(self, ctx: ProcedureContext, ids: set[str]) -> list[ContainerInfo]:
        assert isinstance(self.options, ServicesOptions)
        timeout = self.options.timeout or ctx.settings.procedure.start_timeout
        deadline = ctx.clock() + timeout
        while True:
            mine = [c for c in ctx.require_services().containers() if c.id in ids]
            waiting = [c for c in mine if not c.running or c.health not in (None, "healthy")]
            if not waiting:
                return mine
            if ctx.clock() > deadline:
                states = ", ".join(f"{c.name} {c.health or c.state}" for c in waiting)
                raise DependencyError("docker", f"not running within {timeout:g} s: {states}")
            ctx.sleep(1.0)

    def verify(self, ctx: ProcedureContext) -> str:
        ids = set(ctx.facts.get("stopped", {}))
        mine = [c for c in ctx.require_services().containers() if c.id in ids]
        down = [c.name for c in mine if not c.running]
        if down or len(mine) < len(ids):
            gone = len(ids) - len(mine)
            raise DependencyError(
                "docker", f"not running: {', '.join(down) or '-'}; removed meanwhile: {gone}"
            )
        return f"{len(mine)} container(s) running"


# images


class PullOptions(StepOptions):
    """``registry``: where the images come from (default ``procedure.registry_url``, else
    Docker Hub); ``required``: fail when it cannot be reached (default
    ``procedure.pull_required``)."""

    registry: str | None = None
    required: bool | None = None
    timeout: float = Field(5.0, gt=0, le=120)


class PullImagesStep(_Base):
    """Update images (runbook: ``docker-compose pull``): pulled when the registry answers,
    reported when it does not."""

    name = "pull_images"
    Options = PullOptions

    def _registry(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, PullOptions)
        return (
            self.options.registry
            or ctx.settings.procedure.registry_url
            or "https://registry-1.docker.io"
        )

    def plan(self, ctx: ProcedureContext) -> str:
        return (
            f"pull the images of compose project {ctx.settings.compose_project} from"
            f" {redact(self._registry(ctx))} (reported, not pulled, when it cannot be reached)"
        )

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, PullOptions)
        images = sorted({c.image for c in ctx.require_services().containers() if c.image})
        if not images:
            raise Skip(f"compose project {ctx.settings.compose_project} has no containers")
        registry = self._registry(ctx)
        required = (
            self.options.required
            if self.options.required is not None
            else ctx.settings.procedure.pull_required
        )
        try:
            httpx.get(f"{registry.rstrip('/')}/v2/", timeout=self.options.timeout)
        except httpx.HTTPError as exc:
            why = redact(" ".join(str(exc).split()) or type(exc).__name__)
            text = (
                f"would pull {', '.join(images)}; registry {redact(registry)} cannot be reached"
                f" ({why}): not pulled"
            )
            if required:
                raise DependencyError("registry", text) from exc
            ctx.facts["images"] = {"pulled": [], "reported": images}
            return text
        pull = getattr(ctx.services, "pull", None)
        if pull is None:
            raise Skip(f"the platform adapter cannot pull; would pull {', '.join(images)}")
        for image in images:
            pull(image)
        ctx.facts["images"] = {"pulled": images, "reported": []}
        return f"pulled {', '.join(images)}"


# migrations


class MigrationsOptions(StepOptions):
    """``directory``: the platform's migrations (default ``procedure.migrations_dir``);
    ``set_name``: the name they are recorded under in ``opslib.schema_migrations``."""

    directory: Path | None = None
    set_name: str = Field(PLATFORM_SET, pattern=r"^[a-z][a-z0-9_]{0,62}$")


class MigrationsStep(_Base):
    """Apply migrations (runbook: ``apply_migrations``): opslib's own schema, then the
    platform's directory, in order, under the migrations' advisory lock, each recorded."""

    name = "migrations"
    Options = MigrationsOptions

    def _dir(self, ctx: ProcedureContext) -> Path | None:
        assert isinstance(self.options, MigrationsOptions)
        return self.options.directory or ctx.settings.procedure.migrations_dir

    def plan(self, ctx: ProcedureContext) -> str:
        folder = self._dir(ctx)
        where = f" and the platform's from {folder}" if folder else ""
        return f"apply pending migrations: opslib's own{where}"

    def run(self, ctx: ProcedureContext) -> str:
        done = [f"opslib/{m.version:04d}_{m.name}" for m in migrate(ctx.db)]
        folder = self._dir(ctx)
        if folder is not None:
            assert isinstance(self.options, MigrationsOptions)
            name = self.options.set_name
            applied = apply_migrations(ctx.db, name, from_directory(folder, name))
            done += [f"{folder.name}/{m.version:04d}_{m.name}" for m in applied]
        ctx.facts["migrations"] = [*ctx.facts.get("migrations", []), *done]
        return f"applied {len(done)} migration(s): {', '.join(done) or 'none pending'}"

    def verify(self, ctx: ProcedureContext) -> str:
        left = [f"opslib/{m.version:04d}" for m in pending(ctx.db, "opslib")]
        folder = self._dir(ctx)
        if folder is not None:
            assert isinstance(self.options, MigrationsOptions)
            name = self.options.set_name
            found = from_directory(folder, name)
            left += [f"{folder.name}/{m.version:04d}" for m in pending(ctx.db, name, found)]
        if left:
            raise DataError(f"migrations still pending: {', '.join(left)}")
        return "no migration pending"


# configs


class ConfigOptions(StepOptions):
    """``source``: the folder of the new config set (default ``procedure.config_set``)."""

    source: Path | None = None


class UpdateConfigsStep(_Base):
    """Install a config set into ``backups.config_paths`` (runbook: ``update_configs``):
    validated first, the previous set kept for rollback."""

    name = "update_configs"
    Options = ConfigOptions

    def _source(self, ctx: ProcedureContext) -> Path | None:
        assert isinstance(self.options, ConfigOptions)
        return self.options.source or ctx.settings.procedure.config_set

    def _previous(self, ctx: ProcedureContext) -> Path:
        return ctx.settings.backups.backup_dir / "config-sets" / f"run-{ctx.run_id}" / "previous"

    def plan(self, ctx: ProcedureContext) -> str:
        source = self._source(ctx)
        if source is None:
            return "no config set given: skipped"
        count = len(ctx.settings.backups.config_paths)
        return f"validate and install the config set {source} into {count} config path(s)"

    def run(self, ctx: ProcedureContext) -> str:
        source = self._source(ctx)
        if source is None:
            raise Skip("no config set given (procedure.config_set or the plan's source)")
        previous = self._previous(ctx)
        changes = install_config_set(source, ctx.settings.backups.config_paths, previous)
        ctx.facts["config_previous"] = str(previous)
        changed = [str(c.target) for c in changes if c.changed]
        return (
            f"installed {len(changed)} changed file(s) of {len(changes)}"
            f" ({', '.join(changed) or 'all as before'}); previous set in {previous}"
        )

    def verify(self, ctx: ProcedureContext) -> str:
        source = self._source(ctx)
        if source is None:
            return "nothing to check"
        wrong = installed(plan_config_set(source, ctx.settings.backups.config_paths))
        if wrong:
            raise DataError(f"not as in the set: {', '.join(map(str, wrong))}")
        return "every config path matches the set"


# verification


class HealthOptions(StepOptions):
    """``seconds``: how long the platform may take to turn healthy (default
    ``procedure.health_seconds``)."""

    seconds: float | None = Field(None, gt=0, le=3600)


class HealthStep(_Base):
    """The daily health checks (runbook: ``verify_health``): every expected service running,
    error rate not CRITICAL. Polled until they pass or the time is up."""

    name = "verify_health"
    Options = HealthOptions

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, HealthOptions)
        seconds = self.options.seconds or ctx.settings.procedure.health_seconds
        return f"services and error rate healthy within {seconds:g} s (daily.health)"

    def _judge(self, ctx: ProcedureContext) -> tuple[list[str], list[str]]:
        bad, notes = [], []
        services = service_status(ctx.require_services(), ctx.settings)  # type: ignore[arg-type]
        if services.severity in (Severity.CRITICAL, Severity.UNKNOWN):
            bad.append(services.message().splitlines()[0])
        if ctx.prometheus is not None:
            errors = error_rate(ctx.prometheus, ctx.settings)
            if errors.severity is Severity.CRITICAL:
                bad.append(errors.message().replace("\n", ";"))
            elif errors.severity is Severity.UNKNOWN:
                notes.append(f"error rate not judged: {errors.message().splitlines()[0]}")
        return bad, notes

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, HealthOptions)
        seconds = self.options.seconds or ctx.settings.procedure.health_seconds
        deadline = ctx.clock() + seconds
        while True:
            bad, notes = self._judge(ctx)
            if not bad:
                return "; ".join(["healthy", *notes])
            if ctx.clock() > deadline:
                raise DataError(f"not healthy within {seconds:g} s: {'; '.join(bad)}")
            ctx.sleep(3.0)

    def verify(self, ctx: ProcedureContext) -> str:
        bad, _ = self._judge(ctx)
        if bad:
            raise DataError("; ".join(bad))
        return "healthy"


class DataFlowOptions(StepOptions):
    """``seconds``: how long every expected domain may take to deliver a row (default
    ``procedure.data_flow_seconds``); ``domains`` (default ``procedure.expected_domains``,
    empty: every monitored domain); ``release_maintenance``: close the maintenance window
    first (the scrapers deliver nothing while it is open)."""

    seconds: float | None = Field(None, gt=0, le=24 * 3600)
    domains: list[str] | None = None
    release_maintenance: bool = True


_SINCE = sql.SQL(
    "SELECT mu.{domain} AS domain, count(*) AS rows FROM {ph} ph"
    " JOIN {mu} mu ON ph.{url_id} = mu.{id}"
    " WHERE ph.{checked_at} > %(since)s GROUP BY 1"
)


class DataFlowStep(_Base):
    """New ``price_history`` rows from every expected domain (runbook: ``verify_data_flow``)."""

    name = "verify_data_flow"
    Options = DataFlowOptions

    def _seconds(self, ctx: ProcedureContext) -> float:
        assert isinstance(self.options, DataFlowOptions)
        return self.options.seconds or ctx.settings.procedure.data_flow_seconds

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, DataFlowOptions)
        release = "close the maintenance window, then " if self.options.release_maintenance else ""
        return (
            f"{release}new {ctx.settings.tables.price_history.name} rows from every expected"
            f" domain within {self._seconds(ctx):g} s"
        )

    def _expected(self, ctx: ProcedureContext, schema: PlatformSchema) -> set[str]:
        assert isinstance(self.options, DataFlowOptions)
        given = self.options.domains or ctx.settings.procedure.expected_domains
        if given:
            return {d.lower() for d in given}
        rows = ctx.db.fetch_all(
            sql.SQL("SELECT DISTINCT {} AS domain FROM {}").format(
                schema.column("monitored_urls", "domain"), schema.table("monitored_urls")
            )
        )
        return {str(r["domain"]).lower() for r in rows}

    def _delivered(self, ctx: ProcedureContext, schema: PlatformSchema, since: str) -> set[str]:
        query = _SINCE.format(
            domain=schema.column("monitored_urls", "domain"),
            ph=schema.table("price_history"),
            mu=schema.table("monitored_urls"),
            url_id=schema.column("price_history", "url_id"),
            id=schema.column("monitored_urls", "id"),
            checked_at=schema.column("price_history", "checked_at"),
        )
        rows = ctx.db.fetch_all(query, {"since": since})
        return {str(r["domain"]).lower() for r in rows if r["rows"]}

    def _schema(self, ctx: ProcedureContext) -> PlatformSchema:
        schema = PlatformSchema.read(ctx.db, ctx.settings.tables)
        schema.require("price_history", "url_id", "checked_at")
        schema.require("monitored_urls", "id", "domain")
        return schema

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, DataFlowOptions)
        notes = []
        if self.options.release_maintenance and _mode(ctx).status().windows:
            _mode(ctx).disable(_who(ctx))
            notes.append("maintenance mode off (the scrapers deliver nothing while it is on)")
        if "data_flow_since" not in ctx.facts:
            row = ctx.db.fetch_one("SELECT now()::text AS now")
            assert row is not None
            ctx.facts["data_flow_since"] = row["now"]
            ctx.save()
        schema = self._schema(ctx)
        expected = self._expected(ctx, schema)
        if not expected:
            raise DataError(f"no expected domain: {schema.name('monitored_urls')} is empty")
        seconds = self._seconds(ctx)
        deadline = ctx.clock() + seconds
        while True:
            missing = expected - self._delivered(ctx, schema, ctx.facts["data_flow_since"])
            if not missing:
                return "; ".join([f"new rows from all {len(expected)} domain(s)", *notes])
            if ctx.clock() > deadline:
                raise DataError(
                    f"no new rows within {seconds:g} s from {len(missing)} of {len(expected)}"
                    f" domain(s): {', '.join(sorted(missing))}"
                )
            ctx.sleep(2.0)

    def verify(self, ctx: ProcedureContext) -> str:
        schema = self._schema(ctx)
        missing = self._expected(ctx, schema) - self._delivered(
            ctx, schema, ctx.facts["data_flow_since"]
        )
        if missing:
            raise DataError(f"no new rows from {', '.join(sorted(missing))}")
        return "data flows from every expected domain"


# emergency


class FixOptions(StepOptions):
    """``sql``: a file run in one transaction; ``command``: argv (a string is split as a shell
    would, but no shell runs it); ``timeout`` seconds for the command."""

    sql: Path | None = None
    command: list[str] | str | None = None
    timeout: float = Field(600.0, gt=0, le=24 * 3600)


class FixStep(_Base):
    """Apply the emergency fix (runbook: ``apply_emergency_fix``): SQL in one transaction,
    recorded with the run in that transaction (a resumed run never applies it twice), or a
    command (which must be safe to repeat: a kill before it is recorded runs it again)."""

    name = "fix"
    Options = FixOptions

    def _argv(self) -> list[str]:
        assert isinstance(self.options, FixOptions)
        command = self.options.command
        return shlex.split(command) if isinstance(command, str) else list(command or [])

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, FixOptions)
        if self.options.sql is not None:
            return f"run {self.options.sql} in one transaction"
        if self.options.command:
            return f"run {shlex.join(self._argv())} (timeout {self.options.timeout:g} s)"
        return "no fix given: skipped"

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, FixOptions)
        if self.options.sql is not None:
            return self._sql(ctx, self.options.sql)
        if self.options.command:
            return self._command(ctx)
        raise Skip("no fix given (--fix-sql or --fix-command)")

    def _sql(self, ctx: ProcedureContext, path: Path) -> str:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"fix {path} cannot be read: {exc}") from exc
        digest = hashlib.sha256(text.encode()).hexdigest()
        if ctx.facts.get("fix_sql") == digest:
            return f"{path} was applied already"
        with ctx.db.transaction():
            ctx.db.execute_script(text)
            ctx.facts["fix_sql"] = digest
            ctx.save()  # in the same transaction: applied and recorded, or neither
        return f"applied {path} (sha256 {digest[:12]})"

    def _command(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, FixOptions)
        argv = self._argv()
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.options.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DependencyError(argv[0], f"still running after {exc.timeout:g} s") from exc
        except OSError as exc:
            raise ConfigError(f"fix command cannot be run: {exc.strerror or exc}") from exc
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        if done.returncode != 0:
            raise DependencyError(argv[0], redact(f"exit {done.returncode}: {tail[0]}"))
        ctx.facts["fix_command"] = shlex.join(argv)
        return redact(f"{shlex.join(argv)}: exit 0 {tail[0]}".strip())


class MonitorOptions(StepOptions):
    """``seconds``: watch health and data flow this long (0: only say how to watch)."""

    seconds: float = Field(0.0, ge=0, le=24 * 3600)
    every: float = Field(60.0, gt=0, le=3600)


class MonitorStep(_Base):
    """Enhanced monitoring (runbook: ``enhanced_monitoring``)."""

    name = "monitor"
    Options = MonitorOptions

    def plan(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, MonitorOptions)
        if not self.options.seconds:
            return "then watch: opslib watch checks/daily --every 60s --for 30m"
        return f"re-check health every {self.options.every:g} s for {self.options.seconds:g} s"

    def run(self, ctx: ProcedureContext) -> str:
        assert isinstance(self.options, MonitorOptions)
        if not self.options.seconds:
            return "restored; watch it: opslib watch checks/daily --every 60s --for 30m"
        health = HealthStep(HealthOptions(seconds=1))
        deadline = ctx.clock() + self.options.seconds
        checks = 0
        while ctx.clock() < deadline:
            health.verify(ctx)
            checks += 1
            ctx.sleep(min(self.options.every, max(deadline - ctx.clock(), 0)))
        return f"healthy at each of {checks} check(s) over {self.options.seconds:g} s"


STEPS: dict[str, type[_Base]] = {
    cls.name: cls
    for cls in (
        NoticeStep,
        BackupStep,
        MaintenanceOnStep,
        StopServicesStep,
        PullImagesStep,
        MigrationsStep,
        UpdateConfigsStep,
        StartServicesStep,
        HealthStep,
        DataFlowStep,
        MaintenanceOffStep,
        CompletionNoticeStep,
        FixStep,
        MonitorStep,
    )
}
"""Every step by name."""


def make_step(name: str, options: dict[str, Any] | None = None) -> Step:
    """Step ``name`` with ``options`` (validated: OpsError-free ValueError on a bad one)."""
    cls = STEPS[name]
    step: Step = cls(cls.Options.model_validate(options or {}))
    return step
