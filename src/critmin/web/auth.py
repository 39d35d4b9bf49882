"""Users, roles, passwords, bearer tokens and browser sessions.

Roles and what they see (the *government* of a role decides record visibility):

=============  ============  ====================================  ==========
role           government    sees records with visibility          may write
=============  ============  ====================================  ==========
us-analyst     US            ``US``, ``joint``                     yes
jp-analyst     JP            ``JP``, ``joint``                     yes
joint-admin    joint         ``US``, ``JP``, ``joint``             yes, and users/audit
viewer         joint-public  ``joint``                             no
=============  ============  ====================================  ==========

Passwords must pass :func:`check_password_policy`: at least ``web.min_password_length``
characters, at most 1024, and a zxcvbn strength score of at least ``web.password_min_score``
(zxcvbn estimates guesses against common-password, name and word lists and penalises repeats,
sequences and keyboard patterns: twelve spaces, ``password1234`` and ``abcabcabcabc`` score 0-1).

Disabling a user (:func:`set_disabled`) ends every session and revokes every token in the same
transaction; so does :func:`revoke_credentials`. :func:`change_password` needs the current
password and ends the user's other sessions.

Secrets: passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106 "second
recommended option"); bearer tokens (``cm_<id>_<secret>``, 256-bit secret) and session
cookies are random and only their SHA-256 is stored, so a copy of the database does not
yield a usable credential.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from critmin import settings
from critmin.ops import Store

settings.register(
    "web.session_hours",
    8.0,
    "Absolute lifetime of a browser session in hours (after that the user logs in again).",
    "OWASP Session Management Cheat Sheet (absolute timeouts of 4-8 hours for office use)",
)
settings.register(
    "web.min_password_length",
    12,
    "Shortest password accepted for a new user.",
    "NIST SP 800-63B rev. 4 (2024), sec. 3.1.1.2: at least 15 for single-factor, 8 with MFA;"
    " 12 is the OWASP ASVS 5.0 V6.2.1 minimum",
)

settings.register(
    "web.password_min_score",
    3,
    "Lowest zxcvbn score (0-4) a new password may have; 3 means about 10^8 guesses or more.",
    "zxcvbn (Wheeler 2016, USENIX Security): score 3 = 'safely unguessable: moderate protection"
    " from offline slow-hash scenario' (argon2 here); OWASP ASVS 4.0.3 V2.1.7",
)

VISIBILITIES = ("US", "JP", "joint")


@dataclass(frozen=True)
class Role:
    name: str
    government: str
    sees: frozenset[str]
    can_write: bool
    is_admin: bool = False


ROLES: dict[str, Role] = {
    "us-analyst": Role("us-analyst", "US", frozenset({"US", "joint"}), True),
    "jp-analyst": Role("jp-analyst", "JP", frozenset({"JP", "joint"}), True),
    "joint-admin": Role("joint-admin", "joint", frozenset(VISIBILITIES), True, is_admin=True),
    "viewer": Role("viewer", "joint-public", frozenset({"joint"}), False),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with a role, authenticated by session or token."""

    name: str
    role: Role
    via: str  # 'session' | 'token'
    csrf_token: str | None = None  # set for session logins

    def can_see(self, visibility: str) -> bool:
        return visibility in self.role.sees

    @property
    def default_visibility(self) -> str:
        """Visibility given to records this user creates unless they choose another."""
        return {"US": "US", "JP": "JP"}.get(self.role.government, "joint")

    def may_assign(self, visibility: str) -> bool:
        """A user may create records visible to their own government or to both."""
        if visibility not in VISIBILITIES:
            return False
        return self.role.is_admin or visibility in {self.default_visibility, "joint"}


class AuthError(ValueError):
    pass


_HASHER = PasswordHasher()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def generate_password() -> str:
    """A random password (about 120 bits) for the first admin and for `users add`."""
    return secrets.token_urlsafe(15)


def validate_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise AuthError(
            f"user name {name!r}: expected 1-64 characters of letters, digits, '-', '_' or '.'"
        )
    return name


def check_password_policy(password: str, name: str = "", role: str = "") -> None:
    """Raise :class:`AuthError` saying why, when ``password`` may not be used."""
    min_len = int(settings.get("web.min_password_length"))
    if len(password) < min_len:
        raise AuthError(f"password for {name!r} is too short: expected at least {min_len} characters")
    if len(password) > 1024:
        raise AuthError(f"password for {name!r} is too long: at most 1024 characters")
    low = password.lower()
    for word in (name, "critmin"):
        if len(word) >= 3 and word.lower() in low:
            raise AuthError(f"password for {name!r} is too weak: it contains {'the user name' if word == name else word!r}")
    from zxcvbn import zxcvbn

    # zxcvbn's cost grows with length; its estimate of the first 100 characters is a lower bound
    result = zxcvbn(password[:100], user_inputs=[x for x in (name, role, "critmin", "minerals") if x])
    need = int(settings.get("web.password_min_score"))
    if result["score"] < need:
        fb = result.get("feedback") or {}
        why = fb.get("warning") or "it is easy to guess"
        hint = " ".join(fb.get("suggestions") or [])
        raise AuthError(f"password for {name!r} is too weak (zxcvbn score {result['score']} of 4, "
                        f"at least {need} needed): {why.rstrip('.')}." + (f" {hint}" if hint else ""))


def add_user(con: Store, name: str, role: str, password: str) -> None:
    validate_name(name)
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    check_password_policy(password, name, role)
    if get_user(con, name) is not None:
        raise AuthError(f"user {name!r} already exists")
    con.execute(
        "INSERT INTO web_user (name, role, password_hash, created_at, disabled) VALUES (?, ?, ?, ?, FALSE)",
        [name, role, hash_password(password), _now()],
    )


def get_user(con: Store, name: str) -> tuple[str, str, bool] | None:
    """(name, role, disabled) or None."""
    row = con.execute("SELECT name, role, disabled FROM web_user WHERE name = ?", [name]).fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]))


def list_users(con: Store) -> list[dict]:
    rows = con.execute(
        "SELECT u.name, u.role, u.created_at, u.disabled,"
        " (SELECT count(*) FROM web_token t WHERE t.user_name = u.name AND t.revoked_at IS NULL)"
        " FROM web_user u ORDER BY u.name"
    ).fetchall()
    return [
        {"name": r[0], "role": r[1], "created_at": r[2], "disabled": bool(r[3]), "active_tokens": r[4]}
        for r in rows
    ]


def _count(con: Store, sql: str, params: list | None = None) -> int:
    """The value of a ``SELECT count(*) ...`` query (an aggregate always returns one row)."""
    row = con.execute(sql, params or []).fetchone()
    if row is None:
        raise RuntimeError(f"count query returned no row: {sql}")
    return int(row[0])


def count_users(con: Store) -> int:
    return _count(con, "SELECT count(*) FROM web_user")


def check_password(con: Store, name: str, password: str) -> Principal | None:
    """The principal when name and password match an enabled user, else None.

    An unknown user still costs one argon2 verification so that timing does not reveal which
    user names exist.
    """
    row = con.execute(
        "SELECT role, password_hash, disabled FROM web_user WHERE name = ?", [name]
    ).fetchone()
    stored = row[1] if row else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
        ok = row is not None and not row[2]
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:  # ok already implies a row; the check also tells the type checker
        return None
    return Principal(name, ROLES[row[0]], via="password")


_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


# -- bearer tokens -----------------------------------------------------------------------------


def create_token(con: Store, name: str) -> str:
    """A new bearer token for the user; only its hash is stored. Returned once."""
    if get_user(con, name) is None:
        raise AuthError(f"unknown user {name!r}")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO web_token (token_id, user_name, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)",
        [token_id, name, _sha256(secret), _now()],
    )
    return f"cm_{token_id}_{secret}"


def revoke_tokens(con: Store, name: str, token_id: str | None = None) -> int:
    """Revoke one token (by id) or all of a user's tokens; returns how many were revoked."""
    if get_user(con, name) is None:
        raise AuthError(f"unknown user {name!r}")
    sql = "UPDATE web_token SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL"
    args: list = [_now(), name]
    if token_id is not None:
        sql += " AND token_id = ?"
        args.append(token_id)
    before = _count(
        con,
        "SELECT count(*) FROM web_token WHERE user_name = ? AND revoked_at IS NULL"
        + (" AND token_id = ?" if token_id else ""),
        [name] + ([token_id] if token_id else []),
    )
    con.execute(sql, args)
    return before


def principal_from_token(con: Store, token: str) -> Principal | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cm":
        return None
    row = con.execute(
        "SELECT t.secret_sha256, u.name, u.role, u.disabled FROM web_token t"
        " JOIN web_user u ON u.name = t.user_name WHERE t.token_id = ? AND t.revoked_at IS NULL",
        [parts[1]],
    ).fetchone()
    if row is None or row[3] or not hmac.compare_digest(row[0], _sha256(parts[2])):
        return None
    return Principal(row[1], ROLES[row[2]], via="token")


# -- browser sessions --------------------------------------------------------------------------


def create_session(con: Store, name: str) -> tuple[str, str]:
    """(cookie value, csrf token) for a new session of the user."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    hours = float(settings.get("web.session_hours"))
    con.execute(
        "INSERT INTO web_session (session_sha256, user_name, csrf_token, created_at, expires_at, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, NULL)",
        [_sha256(cookie), name, csrf, now, now + timedelta(hours=hours)],
    )
    return cookie, csrf


def principal_from_session(con: Store, cookie: str) -> Principal | None:
    row = con.execute(
        "SELECT u.name, u.role, u.disabled, s.csrf_token FROM web_session s"
        " JOIN web_user u ON u.name = s.user_name"
        " WHERE s.session_sha256 = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
        [_sha256(cookie), _now()],
    ).fetchone()
    if row is None or row[2]:
        return None
    return Principal(row[0], ROLES[row[1]], via="session", csrf_token=row[3])


def end_session(con: Store, cookie: str) -> None:
    con.execute(
        "UPDATE web_session SET revoked_at = ? WHERE session_sha256 = ?", [_now(), _sha256(cookie)]
    )


def end_sessions(con: Store, name: str, keep_cookie: str | None = None) -> int:
    """End every live session of the user (but ``keep_cookie``'s); returns how many."""
    where = "user_name = ? AND revoked_at IS NULL AND expires_at > ?"
    args: list = [name, _now()]
    if keep_cookie is not None:
        where += " AND session_sha256 <> ?"
        args.append(_sha256(keep_cookie))
    n = _count(con, "SELECT count(*) FROM web_session WHERE " + where, args)
    con.execute("UPDATE web_session SET revoked_at = ? WHERE " + where, [_now(), *args])
    return n


def revoke_credentials(con: Store, name: str) -> tuple[int, int]:
    """Revoke every token and end every session of the user: (tokens, sessions)."""
    return revoke_tokens(con, name), end_sessions(con, name)


def set_disabled(con: Store, name: str, disabled: bool) -> tuple[int, int]:
    """Disable (or enable) a user. Disabling revokes all tokens and ends all sessions at once
    (the disabled flag alone already refuses them; revoking them too means enabling the user
    again does not bring old credentials back). Returns (tokens, sessions) revoked."""
    if get_user(con, name) is None:
        raise AuthError(f"unknown user {name!r}")
    con.execute("UPDATE web_user SET disabled = ? WHERE name = ?", [bool(disabled), name])
    return revoke_credentials(con, name) if disabled else (0, 0)


def change_password(con: Store, name: str, current: str, new: str, keep_cookie: str | None = None) -> int:
    """Set a new password after checking the current one; ends the user's other sessions
    (returns how many). The new one must pass the policy and differ from the current one."""
    row = con.execute("SELECT role, password_hash, disabled FROM web_user WHERE name = ?", [name]).fetchone()
    if row is None or row[2]:
        raise AuthError(f"unknown or disabled user {name!r}")
    try:
        _HASHER.verify(row[1], current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthError("the current password is wrong") from None
    if hmac.compare_digest(current.encode(), new.encode()):
        raise AuthError("the new password must differ from the current one")
    check_password_policy(new, name, row[0])
    con.execute("UPDATE web_user SET password_hash = ? WHERE name = ?", [hash_password(new), name])
    return end_sessions(con, name, keep_cookie=keep_cookie)


def set_password(con: Store, name: str, new: str) -> tuple[int, int]:
    """An administrator's reset: a new password (policy checked), all credentials revoked."""
    row = con.execute("SELECT role FROM web_user WHERE name = ?", [name]).fetchone()
    if row is None:
        raise AuthError(f"unknown user {name!r}")
    check_password_policy(new, name, row[0])
    con.execute("UPDATE web_user SET password_hash = ? WHERE name = ?", [hash_password(new), name])
    return revoke_credentials(con, name)
