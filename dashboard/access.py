"""Who may do what on the dashboard: roles, the built-in users file, OIDC role mapping, ``--read-only``.

Roles, each including the ones before it:

- ``viewer``: every view, the audit log, CSV downloads of what is on screen;
- ``operator``: also acknowledges alarms, exports data for retraining, requests raw captures, starts a
  background retrain;
- ``admin``: also approves (signs) a retrained model and deploys models.

Ways in (``docs/dashboard-access.md``):

- **built-in users file** (``--users FILE``): a TOML file on the server, ``[users.NAME]`` with ``role`` and an
  argon2id ``password_hash`` (argon2-cffi's ``PasswordHasher``); written by ``vibsentry dashboard --users FILE
  --set-user NAME --role ROLE`` (password from the terminal or standard input), never holding a plain password;
- **OIDC** (``--oidc [PROVIDER]``): Streamlit's ``st.login`` against the plant's identity provider, configured in
  the ``[auth]`` table of a Streamlit secrets file (``--oidc-secrets FILE``); the e-mail (or ``sub``) claim maps
  to a role through ``[dashboard.auth.roles]``, anyone else gets ``oidc_default_role`` (viewer);
- **anonymous**: a visitor who has not logged in gets ``anonymous_role``: by default ``admin`` when the dashboard
  listens on a loopback address and no login is configured (the person at the machine can run every CLI command
  anyway), else ``viewer``; ``none`` shows nothing but the login.

``--read-only`` caps every role at viewer, whoever logs in.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibsentry.errors import ConfigError, FileFormatError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")

#: Write action -> the least role allowed to do it.
ACTIONS: dict[str, str] = {
    "acknowledge": "operator",
    "export": "operator",
    "request_raw": "operator",
    "retrain": "operator",
    "approve": "admin",
    "deploy": "admin",
}

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")


def allows(role: str, action: str) -> bool:
    """True when ``role`` may do ``action`` (one of :data:`ACTIONS`)."""
    if action not in ACTIONS:
        raise UsageError(f"unknown dashboard action {action!r}; known: {', '.join(ACTIONS)}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(ACTIONS[action])


def _role(value: Any, what: str, *, allow_none: bool = False) -> str | None:
    if allow_none and value == "none":
        return None
    if value not in ROLES:
        extra = ", none" if allow_none else ""
        raise ConfigError(f"{what}={value!r}: must be one of {', '.join(ROLES)}{extra}")
    return str(value)


def is_loopback(address: str | None) -> bool:
    """True for ``None`` (not served by ``vibsentry dashboard``: AppTest, a local ``streamlit run``),
    ``localhost`` and loopback IP addresses."""
    if address is None or address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Identity:
    """Who is using this browser session: ``user`` name, effective ``role``, and how (``via``)."""

    user: str
    role: str
    via: str

    def allows(self, action: str) -> bool:
        """True when this identity may do ``action``."""
        return allows(self.role, action)


@dataclass(frozen=True)
class AccessConfig:
    """How the dashboard decides roles (see the module docstring).

    Parameters
    ----------
    users_file : str or None
        Built-in users file (TOML with argon2id hashes), or None.
    oidc : str or None
        ``"default"`` or a provider name configured in the Streamlit secrets ``[auth]`` table; None: no OIDC.
    roles : mapping of str to str
        OIDC e-mail (or subject) -> role.
    oidc_default_role : str
        Role of an OIDC user not listed in ``roles``.
    anonymous_role : str or None
        Role without login; None: log in first.
    read_only : bool
        Cap every role at ``viewer``.
    """

    users_file: str | None = None
    oidc: str | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    oidc_default_role: str = "viewer"
    anonymous_role: str | None = "admin"
    read_only: bool = False

    def __post_init__(self) -> None:
        for who, role in self.roles.items():
            _role(role, f"dashboard auth roles[{who!r}]")
        _role(self.oidc_default_role, "dashboard auth oidc_default_role")
        if self.anonymous_role is not None:
            _role(self.anonymous_role, "dashboard auth anonymous_role")
        if not isinstance(self.read_only, bool):
            raise ConfigError(f"dashboard auth read_only={self.read_only!r}: must be true or false")

    @property
    def login_configured(self) -> bool:
        """True when users can log in (users file or OIDC)."""
        return bool(self.users_file or self.oidc)

    @classmethod
    def from_settings(cls, auth: Mapping[str, Any], *, address: str | None) -> AccessConfig:
        """Build from the ``[dashboard.auth]`` table (keys as the fields) and the listen ``address``.

        ``anonymous_role`` defaults to ``admin`` on a loopback address without any login configured, else to
        ``viewer``; the value ``"none"`` requires a login.
        """
        known = {"users_file", "oidc", "roles", "oidc_default_role", "anonymous_role", "read_only"}
        extra = set(auth) - known
        if extra:
            raise ConfigError(f"dashboard auth: unknown key(s) {sorted(extra)!r}; known: {sorted(known)}")
        roles = auth.get("roles", {})
        if not isinstance(roles, Mapping):
            raise ConfigError(f"dashboard auth roles={roles!r}: must be a table of e-mail = role")
        users_file = auth.get("users_file") or None
        oidc = auth.get("oidc") or None
        if "anonymous_role" in auth:
            anon = _role(auth["anonymous_role"], "dashboard auth anonymous_role", allow_none=True)
        else:
            anon = "admin" if is_loopback(address) and not (users_file or oidc) else "viewer"
        return cls(
            users_file=None if users_file is None else str(users_file),
            oidc=None if oidc is None else str(oidc),
            roles=dict(roles),
            oidc_default_role=str(auth.get("oidc_default_role", "viewer")),
            anonymous_role=anon,
            read_only=auth.get("read_only", False),
        )

    def cap(self, role: str) -> str:
        """``role`` as granted: ``viewer`` when read-only."""
        return "viewer" if self.read_only else role

    def anonymous(self) -> Identity | None:
        """The identity of a visitor who has not logged in (None: must log in)."""
        if self.anonymous_role is None:
            return None
        return Identity("anonymous", self.cap(self.anonymous_role), "anonymous")

    def from_oidc(self, claims: Mapping[str, Any]) -> Identity:
        """The identity of an OIDC user from the ID-token claims ``st.user`` exposes."""
        who = str(claims.get("email") or claims.get("sub") or "")
        if not who:
            raise ConfigError("OIDC login without an 'email' or 'sub' claim: cannot tell who this is")
        return Identity(who, self.cap(self.roles.get(who, self.oidc_default_role)), "oidc")


# --------------------------------------------------------------------------------------------- users file


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults


def load_users(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """``{name: {"role": ..., "password_hash": ...}}`` from a users file; one clear error when malformed."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileFormatError(p, f"cannot read the users file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FileFormatError(p, f"not a TOML users file ({exc})") from None
    users = doc.get("users", {})
    if not isinstance(users, dict):
        raise FileFormatError(p, "[users] must be a table of [users.NAME] tables")
    out: dict[str, dict[str, str]] = {}
    for name, entry in users.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("password_hash"), str):
            raise FileFormatError(p, f"[users.{name}] needs a password_hash string")
        if not entry["password_hash"].startswith("$argon2"):
            raise FileFormatError(p, f"[users.{name}] password_hash is not an argon2 hash")
        role = _role(entry.get("role"), f"{p}: [users.{name}] role")
        out[str(name)] = {"role": str(role), "password_hash": entry["password_hash"]}
    return out


#: Verified against when the user name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH: list[str] = []


def verify_password(config: AccessConfig, name: str, password: str) -> Identity | None:
    """The identity of ``name`` when ``password`` matches its hash in the users file, else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if not config.users_file:
        return None
    users = load_users(config.users_file)
    ph = _hasher()
    entry = users.get(name)
    if entry is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(ph.hash("not a password"))
        target, role = _DUMMY_HASH[0], None
    else:
        target, role = entry["password_hash"], entry["role"]
    try:
        ph.verify(target, password)
    except (VerificationError, InvalidHashError):
        return None
    return None if role is None else Identity(name, config.cap(role), "password")


def set_user(path: str | os.PathLike[str], name: str, role: str, password: str) -> None:
    """Add or replace user ``name`` in the users file at ``path`` (created with mode 0600), atomically."""
    from vibsentry.fileio import atomic_open

    if not name or not set(name) <= _NAME_OK:
        raise UsageError(f"user name {name!r}: use letters, digits and _ . @ - only")
    _role(role, "--role")
    if len(password) < 8:
        raise UsageError("password: use at least 8 characters")
    p = Path(path)
    users = load_users(p) if p.exists() else {}
    users[name] = {"role": role, "password_hash": _hasher().hash(password)}
    lines = ["# vibsentry dashboard users: argon2id hashes, written by 'vibsentry dashboard --set-user'", ""]
    for n in sorted(users):
        lines += [
            f'[users."{n}"]',
            f'role = "{users[n]["role"]}"',
            f'password_hash = "{users[n]["password_hash"]}"',
            "",
        ]
    with atomic_open(p, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # before the rename: never readable by others, not even briefly
        fh.write("\n".join(lines).encode("utf-8"))
