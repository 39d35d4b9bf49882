"""CLI commands of the security controls, added to the ``audit`` and ``users`` groups of
:mod:`critmin.cli.web` (which imports this module when it registers them): ``audit verify|checkpoint|checkpoints`` and
``users disable|enable|unlock|totp``. Each works while ``critmin serve`` runs (the operational
store is shared) and is audited with the actor ``cli:<login>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from critmin.cli.common import fail
from critmin.cli.web import _audit, _connect, audit_app, users_app


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log: the keyed hash chain, and the newest signed checkpoint (detects a
    deleted tail and a deletion followed by recomputing the chain). Exit code 2 when broken."""
    from critmin.web import audit

    con = _connect(ctx.obj.db_path())
    try:
        ok, msg = audit.verify_chain(con)
    except audit.AuditKeyError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    typer.echo(("ok: " if ok else "AUDIT LOG BROKEN: ") + msg)
    if not ok:
        raise typer.Exit(2)


@audit_app.command("checkpoint")
def audit_checkpoint(ctx: typer.Context) -> None:
    """Write a signed checkpoint of the audit chain's head now (to web.audit_checkpoint_file)."""
    from critmin.web import audit

    con = _connect(ctx.obj.db_path())
    try:
        _audit(con, "audit.checkpoint", "", "ok")
        cp = audit.checkpoint(con)
        path = audit.checkpoint_path(con)
    except audit.AuditKeyError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    assert cp is not None
    typer.echo(f"checkpoint seq={cp['seq']} hash={cp['hash'][:16]}... at {cp['at']} written to {path}")


@audit_app.command("checkpoints")
def audit_checkpoints(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
) -> None:
    """Export every checkpoint (JSON, oldest first, each with whether its signature checks)."""
    from critmin.web import audit

    con = _connect(ctx.obj.db_path())
    try:
        cps = audit.read_checkpoints(con)
    except audit.AuditKeyError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    text = json.dumps(cps, indent=1)
    if output:
        output.write_text(text + "\n")
        typer.echo(f"{len(cps)} checkpoint(s) written to {output}")
    else:
        typer.echo(text)


def _user_action(ctx: typer.Context, name: str, action: str) -> None:
    from critmin.web import auth, throttle

    con = _connect(ctx.obj.db_path())
    try:
        if auth.get_user(con, name) is None:
            raise fail(f"unknown user {name!r}")
        if action == "disable":
            tokens, sessions = auth.set_disabled(con, name, True)
            _audit(con, "user.disable", name, "ok", {"tokens_revoked": tokens, "sessions_ended": sessions})
            typer.echo(f"user {name!r} disabled: {sessions} session(s) ended, {tokens} token(s) revoked")
        elif action == "enable":
            auth.set_disabled(con, name, False)
            _audit(con, "user.enable", name, "ok")
            typer.echo(f"user {name!r} enabled (old sessions and tokens stay revoked)")
        else:
            key = throttle.keys_for(name, None)[0]
            was = throttle.clear(con, key)
            _audit(con, "login.unlock", key, "ok", {"was_locked": was})
            typer.echo(f"{key}: lockout lifted" if was else f"{key}: was not locked (failed-login count reset)")
    finally:
        con.close()


@users_app.command("disable")
def users_disable(ctx: typer.Context, name: str) -> None:
    """Disable a user: every session ends and every token is revoked at once."""
    _user_action(ctx, name, "disable")


@users_app.command("enable")
def users_enable(ctx: typer.Context, name: str) -> None:
    """Enable a disabled user again."""
    _user_action(ctx, name, "enable")


@users_app.command("unlock")
def users_unlock(ctx: typer.Context, name: str) -> None:
    """Lift a user's login lockout."""
    _user_action(ctx, name, "unlock")


@users_app.command("totp")
def users_totp(
    ctx: typer.Context,
    name: str,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the user's second factor instead.")] = False,
) -> None:
    """Give a user a TOTP second factor now (prints the secret and otpauth URI once), or remove it."""
    from critmin.web import auth, totp

    con = _connect(ctx.obj.db_path())
    try:
        if auth.get_user(con, name) is None:
            raise fail(f"unknown user {name!r}")
        if remove:
            had = totp.remove(con, name)
            _audit(con, "totp.remove", name, "ok", {"had": had})
            typer.echo(f"second factor of {name!r} removed" if had else f"{name!r} had no second factor")
            return
        totp.remove(con, name)
        secret, uri = totp.begin(con, name)
        con.execute("UPDATE web_totp SET enabled_at = created_at WHERE user_name = ?", [name])
        _audit(con, "totp.enrol", name, "ok", {"by": "cli"})
    finally:
        con.close()
    typer.echo(f"second factor of {name!r} in force. Secret (shown once): {secret}")
    typer.echo(f"otpauth URI: {uri}")
