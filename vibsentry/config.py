"""TOML configuration with ``VIBSENTRY_*`` environment overrides.

Precedence (highest first): explicit keyword overrides, environment variables, the TOML file, defaults.
An environment variable ``VIBSENTRY_<SECTION>_<KEY>`` (upper case) overrides ``[section] key``; its text is
parsed as a TOML value when it parses, else kept as a string, so ``VIBSENTRY_INGEST_BAUD=921600`` is an int.
Secrets are never read from TOML files: see :func:`read_secret`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vibsentry.errors import ConfigError, FileFormatError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "VIBSENTRY_"


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file into a dict; a missing or malformed file raises :class:`FileFormatError`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FileFormatError(p, f"cannot read config file ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FileFormatError(p, "config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise FileFormatError(p, f"invalid TOML: {exc}", line=line) from None


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def env_overrides(section: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return ``{key: value}`` for every ``VIBSENTRY_<SECTION>_<KEY>`` variable in ``environ``."""
    env = os.environ if environ is None else environ
    prefix = f"{ENV_PREFIX}{section.upper()}_"
    return {k[len(prefix) :].lower(): _parse_env_value(v) for k, v in env.items() if k.startswith(prefix)}


def load_section(
    section: str,
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge ``[section]`` of the TOML file at ``path`` with environment and explicit overrides.

    A file without the section contributes nothing. Keys are returned as written (lower case for
    environment variables); validating them is the caller's job (usually a frozen dataclass).
    """
    merged: dict[str, Any] = {}
    if path is not None:
        doc = load_toml(path)
        sect = doc.get(section, {})
        if not isinstance(sect, dict):
            raise ConfigError(f"{os.fspath(path)}: [{section}] must be a table, got {sect!r}")
        merged.update(sect)
    merged.update(env_overrides(section, environ))
    if overrides:
        merged.update({k: v for k, v in overrides.items() if v is not None})
    return merged


def read_secret(
    name: str, *, file_var: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Read a secret from environment variable ``name`` or from the file named by ``file_var``.

    Returns None when neither is set. The value is never logged; errors name the variable, not the value.
    """
    env = os.environ if environ is None else environ
    if name in env:
        return env[name]
    if file_var and file_var in env:
        p = Path(env[file_var])
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_var}={p}: cannot read secret file ({exc.strerror or exc})") from None
    return None


def split_url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user:password@, user, password)``: credentials must travel in a header, never in a URL
    that ends up in logs, status files or error messages. User and password are percent-decoded."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def redact_url(url: str) -> str:
    """``url`` safe to print: ``user:password@`` becomes ``***@`` and the values of query parameters that carry
    secrets (``p``, ``password``, ``token``, ``u``) become ``***``."""
    import re

    out = re.sub(r"(?<=://)[^/@\s]*@", "***@", url)
    return re.sub(r"(?i)([?&](?:p|u|password|token|pass|pwd)=)[^&#\s]*", r"\1***", out)
