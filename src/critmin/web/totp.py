"""Optional TOTP second factor (RFC 6238, 30-second steps, 6 digits; pyotp).

A user enrols in two steps: :func:`begin` stores a new random secret (160 bits, RFC 4226
sec. 4) not yet in force and returns it with its ``otpauth://`` URI for an authenticator app;
:func:`confirm` puts it in force once a code from the app checks. From then on a login needs
the password *and* a current code. A code is accepted once: the time step of the last code
accepted is kept, and a code of the same or an earlier step is refused (RFC 6238 sec. 5.2).
One step of clock drift either way is allowed.

``web.totp_required_for_admin`` (off by default, so that the first admin can log in after
``critmin serve`` creates it; docs/security.md says to turn it on): a joint-admin without a TOTP in force cannot log
in to the dashboard; an admin enrols with ``critmin users totp NAME`` on the server (or on the
Account page before the setting is turned on).
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Any

from critmin import settings
from critmin.web import sectables

settings.register(
    "web.totp_required_for_admin",
    False,
    "Joint-admin accounts must have a TOTP second factor to log in to the dashboard (turn it on "
    "in production once the admins have enrolled: `critmin users totp NAME`).",
    "OWASP ASVS 4.0.3 V2.7/V2.8 (L2: multi-factor for administrative interfaces, V4.3.1)",
)

ISSUER = "critmin"
STEP_S = 30


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def status(con: Any, name: str) -> str:
    """``none``, ``pending`` (begun, not confirmed) or ``enabled``."""
    sectables.ensure(con)
    row = con.execute("SELECT enabled_at FROM web_totp WHERE user_name = ?", [name]).fetchone()
    if row is None:
        return "none"
    return "enabled" if row[0] is not None else "pending"


def begin(con: Any, name: str) -> tuple[str, str]:
    """A new pending secret for the user (replacing a pending or enabled one only when
    :func:`confirm` succeeds): (secret in base32, otpauth URI)."""
    import pyotp

    sectables.ensure(con)
    secret = pyotp.random_base32(32)
    row = con.execute("SELECT enabled_at FROM web_totp WHERE user_name = ?", [name]).fetchone()
    if row is not None and row[0] is not None:
        raise ValueError(f"user {name!r} already has a TOTP in force; remove it first (an admin can)")
    con.execute("DELETE FROM web_totp WHERE user_name = ?", [name])
    con.execute("INSERT INTO web_totp (user_name, secret, created_at, enabled_at, last_step) VALUES (?, ?, ?, NULL, NULL)",
                [name, secret, _now()])
    uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)
    return secret, uri


def _matching_step(secret: str, code: str, at: float) -> int | None:
    import pyotp

    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(at // STEP_S)
    for s in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.at(s * STEP_S), code):
            return s
    return None


def verify(con: Any, name: str, code: str | None, *, pending: bool = False, at: float | None = None) -> bool:
    """Whether ``code`` is a current, unused code of the user's secret (the pending one when
    ``pending``); an accepted code's step is recorded so it cannot be used again."""
    sectables.ensure(con)
    if not code:
        return False
    row = con.execute("SELECT secret, enabled_at, last_step FROM web_totp WHERE user_name = ?", [name]).fetchone()
    if row is None or (row[1] is None) != pending:
        return False
    step = _matching_step(row[0], code, time.time() if at is None else at)
    if step is None or (row[2] is not None and step <= int(row[2])):
        return False
    con.execute("UPDATE web_totp SET last_step = ? WHERE user_name = ?", [step, name])
    return True


def confirm(con: Any, name: str, code: str, at: float | None = None) -> bool:
    """Put the pending secret in force if ``code`` checks."""
    if not verify(con, name, code, pending=True, at=at):
        return False
    con.execute("UPDATE web_totp SET enabled_at = ? WHERE user_name = ?", [_now(), name])
    return True


def remove(con: Any, name: str) -> bool:
    """Remove the user's TOTP (an admin's action, audited by the caller)."""
    sectables.ensure(con)
    had = con.execute("SELECT 1 FROM web_totp WHERE user_name = ?", [name]).fetchone() is not None
    con.execute("DELETE FROM web_totp WHERE user_name = ?", [name])
    return had


def required(role_is_admin: bool) -> bool:
    return role_is_admin and bool(settings.get("web.totp_required_for_admin"))
