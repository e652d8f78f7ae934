"""``opslib keys``: the API's keys, stored hashed; created (shown once), rotated with an
overlap window, revoked at once."""

from __future__ import annotations

import click

from opslib.audit import current_actor
from opslib.cli._context import AppContext, pass_app
from opslib.security import KeyStore, key_store, parse_duration

__all__ = ["keys"]


def _store(app: AppContext) -> KeyStore:
    return key_store(app.database, app.settings)


def _actor(app: AppContext) -> str:
    return app.settings.actor or current_actor()


@click.group()
def keys() -> None:
    """API keys: list, create (shown once), rotate (with an overlap), revoke (at once)."""


@keys.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also expired and revoked keys.")
@pass_app
def list_cmd(app: AppContext, show_all: bool) -> None:
    """The keys: client, prefix, state, created, by, until (never the key)."""
    store = _store(app)
    now = store.now()
    found = store.entries(include_dead=show_all)
    rows = [
        (
            k.name,
            k.prefix,
            k.state(now),
            k.created_at.isoformat(timespec="seconds"),
            k.actor,
            k.expires_at.isoformat(timespec="seconds") if k.expires_at else "-",
        )
        for k in found
    ]
    payload = [k.as_dict(now) for k in found]
    app.output.table(("client", "prefix", "state", "created", "by", "until"), rows, payload=payload)
    if not app.output.as_json:
        app.output.info(f"{sum(k.live(now) for k in found)} live key(s)")


@keys.command("create")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Say what would be created, create nothing.")
@pass_app
def create_cmd(app: AppContext, name: str, dry_run: bool) -> None:
    """Create a key for client NAME. The key is printed once, on stdout only; it is stored
    as an HMAC and cannot be shown again."""
    store = _store(app)
    with app.audit.action("keys.create", {"name": name}, dry_run=dry_run) as out:
        if dry_run:
            out.detail = f"would create a key for {name}"
            app.output.data({"dry_run": True, "name": name}, out.detail)
            return
        record, key = store.create(name, actor=_actor(app))
        out.detail = f"created key {record.prefix} for {name}"
    app.output.data(
        {"dry_run": False, **record.as_dict(), "key": key},
        f"{out.detail}\n{key}\n(shown once: give it to the client now)",
    )


@keys.command("rotate")
@click.argument("ident")
@click.option(
    "--overlap", help="How long the old key keeps working (default security.key_overlap)."
)
@click.option("--dry-run", is_flag=True, help="Show the key that would be replaced.")
@pass_app
def rotate_cmd(app: AppContext, ident: str, overlap: str | None, dry_run: bool) -> None:
    """Replace the key IDENT (id, prefix or client name) with a new one, printed once; the old
    one keeps working for --overlap so the client can switch, then is dead."""
    if overlap is None:  # the security policy's overlap, else the config's
        from opslib.security import effective_settings

        overlap = effective_settings(app.settings, app.database).security.key_overlap
    length = overlap
    span = parse_duration(length) if length not in ("0", "0s") else parse_duration("1s")
    store = _store(app)
    args = {"key": ident, "overlap": length}
    with app.audit.action("keys.rotate", args, dry_run=dry_run) as out:
        if dry_run:
            old = store.plan_rotate(ident)
            out.detail = f"would replace {old.prefix} ({old.name}); it would work {length} more"
            app.output.data({"dry_run": True, "old": old.as_dict()}, out.detail)
            return
        new, key, old = store.rotate(ident, overlap=span, actor=_actor(app))
        until = old.expires_at.isoformat(timespec="seconds") if old.expires_at else "-"
        out.detail = f"{old.prefix} ({old.name}) replaced by {new.prefix}; old works until {until}"
    app.output.data(
        {"dry_run": False, "old": old.as_dict(), "new": new.as_dict(), "key": key},
        f"{out.detail}\n{key}\n(shown once: give it to the client now)",
    )


@keys.command("revoke")
@click.argument("ident")
@click.option("--reason", required=True, help="Why (kept with the key and audited).")
@click.option("--dry-run", is_flag=True, help="Show the keys that would be revoked.")
@pass_app
def revoke_cmd(app: AppContext, ident: str, reason: str, dry_run: bool) -> None:
    """Revoke at once the key IDENT names (an id or prefix; a client name revokes all that
    client's live keys): the next request with it is refused."""
    store = _store(app)
    with app.audit.action("keys.revoke", {"key": ident, "reason": reason}, dry_run=dry_run) as out:
        if dry_run:
            found = store.find(ident)
            out.detail = f"would revoke {', '.join(k.prefix for k in found) or 'nothing'}"
            app.output.data({"dry_run": True, "keys": [k.as_dict() for k in found]}, out.detail)
            return
        done = store.revoke(ident, reason=reason, actor=_actor(app))
        out.detail = f"revoked {', '.join(f'{k.prefix} ({k.name})' for k in done)}"
    from opslib.cli._security import opened_by_action

    opened_by_action(app, f"key revoked: {ident}: {reason}")
    app.output.data({"dry_run": False, "keys": [k.as_dict() for k in done]}, out.detail)
