"""Error types. Every user-facing failure is a :class:`VibsentryError` whose message quotes the bad value.

The CLI prints ``str(err)`` as one line and exits with ``err.exit_code`` (1 for failures, 2 for usage errors).
"""

from __future__ import annotations

import os


class VibsentryError(Exception):
    """Base class of every error vibsentry reports to a user."""

    exit_code = 1


class UsageError(VibsentryError):
    """A command-line argument is wrong (exit code 2)."""

    exit_code = 2


class ConfigError(VibsentryError):
    """A configuration value (TOML file, environment variable, dataclass field) is invalid."""


class SignalError(VibsentryError, ValueError):
    """A signal array cannot be processed: NaN/inf, empty, too short, wrong dtype or shape."""


class FileFormatError(VibsentryError):
    """A file cannot be read or parsed. The message names the file and, where known, the line."""

    def __init__(self, path: str | os.PathLike[str], reason: str, *, line: int | None = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class OutputError(VibsentryError):
    """An output file or folder cannot be written (no permission, missing folder, disk full, ...)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: cannot write ({reason}); nothing was written")


class DatasetError(VibsentryError):
    """A dataset manifest or one of its recordings is unusable."""


class BundleError(VibsentryError):
    """A model bundle is missing, incomplete, tampered with, or of an unsupported format version."""


class SignatureError(BundleError):
    """A signed manifest is missing, malformed, signed by another key, or does not match the bundle's files."""


class KeyFileError(VibsentryError):
    """A signing key file is missing, unreadable, of the wrong type, or would overwrite an existing key."""


class ExportError(VibsentryError):
    """A model cannot be exported to C (for example an unsupported operator)."""


class DeployError(VibsentryError):
    """A model could not be sent to a node: no route to it (gateway, port), or the node stopped answering."""


class ProtocolError(VibsentryError):
    """A wire-protocol frame or message is malformed."""


class StoreError(VibsentryError):
    """A journal or store write or read failed (disk full, database unreachable, ...)."""


class StoreRejected(StoreError):
    """A store refused records because of their content (retrying the same records cannot succeed)."""


class FrameError(ProtocolError):
    """A received wire frame is rejected; ``kind`` names the check that failed (see ``docs/protocol.md``)."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(f"{kind} error: {reason}")
