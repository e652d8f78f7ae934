"""``opslib credentials rotate database``: the database role's password rotated step by step,
resumable after an interruption, every step audited without the secret."""

from __future__ import annotations

import sys

import click
from psycopg.conninfo import conninfo_to_dict

from opslib.cli._context import AppContext, pass_app
from opslib.errors import ConfigError, InputError
from opslib.security._credentials import (
    CredentialRotation,
    restart_in_order,
    rotate_proxy_credentials,
)

__all__ = ["credentials"]


@click.group()
def credentials() -> None:
    """Platform credentials: rotate the database role's password."""


@credentials.command("rotate")
@click.argument("target", type=click.Choice(["database", "proxy"]))
@click.argument("url", required=False)
@click.option("--username", help="proxy: the new username (default: the one stored).")
@click.option("--dry-run", is_flag=True, help="Say what would be done, change nothing.")
@pass_app
def rotate_cmd(
    app: AppContext, target: str, url: str | None, username: str | None, dry_run: bool
) -> None:
    """Rotate the database role's password: ALTER ROLE, write security.db_secret_file, restart
    security.db_services in order, verify the old password is refused and the new one works.
    Interrupted, run it again: it finishes the rotation under way. ``proxy URL``: store the
    proxy's new password, read from stdin (never an argument), sealed like the pool's."""
    if target == "proxy":
        _rotate_proxy(app, url, username, dry_run)
        return
    settings = app.settings
    sec = settings.security
    if sec.db_secret_file is None:
        raise ConfigError("security.db_secret_file is not set: where do the services read it?")
    if settings.database_dsn is None:
        raise ConfigError("database_dsn is not set")
    dsn = settings.database_dsn.get_secret_value()
    role = sec.db_role or str(conninfo_to_dict(dsn).get("user") or "")
    if not role:
        raise ConfigError("security.db_role is not set and the DSN names no user")
    args = {"target": target, "role": role, "secret_file": str(sec.db_secret_file)}

    def audit(step: str, detail: str) -> None:
        app.audit.record(
            f"credentials.rotate.{step}", args, dry_run=False, outcome="ok", detail=detail
        )

    def restart() -> str:
        if not sec.db_services:
            return "no services configured (security.db_services): none restarted"
        from opslib.connect import open_platform

        return restart_in_order(open_platform(settings), sec.db_services)()

    rotation = CredentialRotation(
        app.database,
        dsn=dsn,
        role=role,
        secret_file=sec.db_secret_file,
        variable=sec.db_secret_variable,
        restart=restart,
        audit=audit,
        timeout=settings.timeouts.connect,
    )
    with app.audit.action("credentials.rotate", args, dry_run=dry_run) as out:
        if dry_run:
            out.detail = f"would {rotation.plan()}"
            app.output.data({"dry_run": True, **args, "plan": out.detail}, out.detail)
            return
        result = rotation.run()
        out.detail = f"{role}: rotated ({'resumed' if result.resumed else 'new'})"
    from opslib.cli._security import opened_by_action

    opened_by_action(app, f"database password of {role} rotated")
    text = "\n".join(f"{step}: {detail}" for step, detail in result.steps)
    app.output.data({"dry_run": False, **args, **result.as_dict()}, text)


def _rotate_proxy(app: AppContext, url: str | None, username: str | None, dry_run: bool) -> None:
    from opslib.proxies import ProxyPool

    if not url:
        raise InputError("credentials rotate proxy URL: which proxy (opslib proxies list)")
    pool = ProxyPool(app.database, app.settings.proxies)
    args = {"target": "proxy", "url": url, "username": username}
    with app.audit.action("credentials.rotate", args, dry_run=dry_run) as out:
        if dry_run:
            known = any(p.url == url for p in pool.proxies())
            out.detail = f"would store new credentials for {url}" if known else f"{url}: unknown"
        else:
            password = sys.stdin.readline().rstrip("\r\n")
            out.detail = rotate_proxy_credentials(pool, url, password, username=username)
    app.output.data({"dry_run": dry_run, **args, "summary": out.detail}, out.detail)
