"""Retraining from the dashboard: a background job, the old-versus-new comparison, approval by signing.

The dashboard never trains in its own process. :func:`start` checks the inputs, creates a job folder and
starts ``python -m vibsentry.dashboard.retrain_job JOB_DIR`` as a child in its own session (it dies with the
server, a crash in TensorFlow cannot take the server down, and the page stays responsive). The child runs
:func:`vibsentry.training.api.retrain_bundle` (what ``vibsentry train --from OLD --manifest NEW`` runs) and
writes its progress to ``status.json``, which the page polls. A job folder holds:

- ``job.json``: what to do (manifest, old bundle, training config, who started it);
- ``status.json``: ``state`` (``running``, ``done``, ``failed``, ``cancelled``), ``stage``, ``fraction``
  (0..1), ``message`` (one line), replaced atomically at every step;
- ``log.txt``: the child's output (a traceback, if it crashed); ``pid``: its process id;
- ``new/``: the retrained bundle, written atomically by ``save_bundle``, only when the job succeeds;
- ``comparison.json``: OLD and NEW evaluated on the same held-out windows (the retrain's test split: the old
  bundle's rows keep their split, so the old model is never scored on data it trained on): headline
  metrics, score histograms of normal and fault windows, confusion matrices, and the no-regression gate's
  verdict (``[train] retrain_margin``, as ``vibsentry train --from`` applies it);
- ``approved.json``: after an admin approved it: who, when, and where the signed bundle went.

A failed or cancelled job leaves no ``new/`` and no ``comparison.json``. Training runs with ``force`` so the
comparison is shown even when the gate refuses; :func:`approve` then refuses to sign (the CLI's
``vibsentry train --from ... --force`` is the deliberate way around the gate).

:func:`approve` copies ``new/`` to a hidden folder inside the bundles directory, signs it there with
:func:`vibsentry.signing.sign_bundle` using the private key configured on the server (refused when the key
file is readable by group or others), verifies it with the plant's public key and renames it into place in
one step: the Models view lists it as a deployable candidate.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.errors import ConfigError, KeyFileError, UsageError, VibsentryError
from vibsentry.fileio import write_atomic

JOB_FILE = "job.json"
STATUS_FILE = "status.json"
COMPARISON_FILE = "comparison.json"
APPROVED_FILE = "approved.json"
APPROVAL_FILE = "approval.json"  # written into the approved bundle itself (who approved it)
LOG_FILE = "log.txt"
PID_FILE = "pid"
NEW_BUNDLE = "new"
HIST_BINS = 30
PARENT_ENV = "VIBSENTRY_RETRAIN_PARENT"  # the server's pid: the job stops when the server is gone
#: Finished job folders kept when a new job starts (older ones are removed; a running job never is).
KEEP_JOBS = 20

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Children started by this server process, by job folder: polled so a finished child is reaped at once.
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}


class RetrainError(VibsentryError):
    """A retrain job cannot be started, approved or completed (the message is one line for the page)."""


@dataclass(frozen=True)
class JobStatus:
    """The state of one job as the page shows it."""

    job_dir: Path
    state: str
    stage: str
    fraction: float
    message: str
    started: float
    updated: float

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def job_id(self) -> str:
        return self.job_dir.name


def _now() -> float:
    return time.time()


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


# --------------------------------------------------------------------------------------------- choices


def find_manifests(export_dir: str | os.PathLike[str], *, depth: int = 3) -> list[Path]:
    """``manifest.csv`` files inside the export directory (at most ``depth`` folders down), newest first."""
    root = Path(export_dir)
    if not root.is_dir():
        return []
    found = [
        p
        for d in range(depth + 1)
        for p in root.glob("/".join(["*"] * d + ["manifest.csv"]))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def find_bundles(bundles_dir: str | os.PathLike[str]) -> list[Path]:
    """Bundle folders (with ``bundle.json``) in the bundles directory, by name; hidden folders are skipped."""
    root = Path(bundles_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / "bundle.json").is_file())


# --------------------------------------------------------------------------------------------- jobs


def jobs(jobs_dir: str | os.PathLike[str]) -> list[Path]:
    """Job folders, oldest first (their names start with the UTC start time)."""
    root = Path(jobs_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / JOB_FILE).is_file())


def latest(jobs_dir: str | os.PathLike[str]) -> Path | None:
    """The newest job folder, or None."""
    found = jobs(jobs_dir)
    return found[-1] if found else None


def prune(jobs_dir: str | os.PathLike[str], keep: int = KEEP_JOBS) -> list[Path]:
    """Remove the oldest finished job folders so that at most ``keep`` remain; returns the removed ones.

    Only ``done``, ``failed`` and ``cancelled`` jobs are removed (a running one, even an old one, stays).
    An approved job's signed bundle lives in the bundles directory with its own ``approval.json``, so removing
    the job folder loses only the comparison page. Called by :func:`start` under its lock.
    """
    finished = [p for p in jobs(jobs_dir) if not status(p).running]
    gone = finished[: max(0, len(finished) - max(0, keep))]
    for p in gone:
        (p / JOB_FILE).unlink(missing_ok=True)  # first: a half-removed folder is no longer listed as a job
        shutil.rmtree(p, ignore_errors=True)
    return gone


def _alive(pid: int) -> bool:
    try:
        st = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return st != "Z"


def _alive_job(job_dir: Path, doc: dict[str, Any]) -> bool:
    """True while the job's process runs, seen from any process (another server, a CLI, a test)."""
    pid = int(doc.get("pid") or 0)
    if pid <= 0:
        try:
            pid = int((job_dir / PID_FILE).read_text())
        except (OSError, ValueError):
            # Between start()'s status and its pid file: a job is given a minute to get that far.
            return _now() - float(doc.get("started", 0.0)) < 60.0
    return _alive(pid)


def _set_status(
    job_dir: Path, state: str, stage: str, fraction: float, message: str = "", *, pid: int | None = None
) -> None:
    old = _read_json(job_dir / STATUS_FILE) or {}
    _write_json(
        job_dir / STATUS_FILE,
        {
            "state": state,
            "stage": stage,
            "fraction": max(0.0, min(1.0, float(fraction))),
            "message": message,
            "pid": pid if pid is not None else int(old.get("pid", 0)),
            "started": old.get("started", _now()),
            "updated": _now(),
        },
    )


def _discard_outputs(job_dir: Path) -> None:
    """Remove what a failed job may have produced: no half-written bundle or comparison stays behind."""
    shutil.rmtree(job_dir / NEW_BUNDLE, ignore_errors=True)
    for p in job_dir.glob(f".{NEW_BUNDLE}*"):  # save_bundle's staging folder, if the child was killed
        shutil.rmtree(p, ignore_errors=True)
    (job_dir / COMPARISON_FILE).unlink(missing_ok=True)


def status(job_dir: str | os.PathLike[str]) -> JobStatus:
    """The job's status; a job whose process ended without saying so is marked failed (and cleaned up)."""
    jd = Path(job_dir)
    doc = _read_json(jd / STATUS_FILE) or {}
    state = str(doc.get("state", "failed"))
    if state == "running":
        child = _CHILDREN.get(str(jd))
        code = child.poll() if child is not None else None
        gone = code is not None or (child is None and not _alive_job(jd, doc))
        if gone:
            doc = _read_json(jd / STATUS_FILE) or {}  # the child may have finished between the two reads
            if doc.get("state") == "running":
                _discard_outputs(jd)
                why = f"exit status {code}" if code is not None else "the server restarted"
                _set_status(
                    jd,
                    "failed",
                    str(doc.get("stage", "")),
                    float(doc.get("fraction", 0.0)),
                    f"the training process ended unexpectedly ({why}); its output is in {jd / LOG_FILE}",
                )
                doc = _read_json(jd / STATUS_FILE) or {}
            state = str(doc.get("state", "failed"))
        if state != "running":
            _CHILDREN.pop(str(jd), None)
    return JobStatus(
        jd,
        state,
        str(doc.get("stage", "")),
        float(doc.get("fraction", 0.0)),
        str(doc.get("message", "no status: the job never started")),
        float(doc.get("started", 0.0)),
        float(doc.get("updated", 0.0)),
    )


def job_spec(job_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The job's ``job.json`` (empty when unreadable)."""
    return _read_json(Path(job_dir) / JOB_FILE) or {}


def start(
    jobs_dir: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str],
    old_bundle: str | os.PathLike[str],
    config: str | os.PathLike[str] | None,
    user: str,
    keep: int = KEEP_JOBS,
) -> Path:
    """Check the inputs and start a retrain job in the background; returns its folder.

    Parameters
    ----------
    jobs_dir : path-like
        Where job folders are created.
    manifest : path-like
        The new recordings (an export's ``manifest.csv``).
    old_bundle : path-like
        The bundle to retrain from and compare with (the deployed or selected one).
    config : path-like or None
        ``[features]``/``[train]`` TOML (the server's; None: training defaults).
    user : str
        Who started it (kept in ``job.json``).
    keep : int
        Job folders kept, the new one included: older finished ones are removed first (:func:`prune`).

    Raises
    ------
    RetrainError
        Another job is running.
    VibsentryError
        A bad manifest, an unreadable bundle or config (one line, nothing started).
    """
    import fcntl

    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import load_config
    from vibsentry.training.manifest import read_manifest

    rows = read_manifest(manifest)  # checks the format and that every recording exists
    if not rows:
        raise RetrainError(f"{manifest}: the manifest lists no recordings")
    load_bundle(old_bundle)
    load_config(config)
    root = Path(jobs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / ".start.lock", "w")  # held until the new job is listed
    except OSError as exc:
        raise RetrainError(f"cannot create a job folder in {str(root)!r} ({exc.strerror or exc})") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sessions clicking at once: one starts, the other is told
        for other in jobs(root):
            if status(other).running:
                who = job_spec(other).get("user", "?")
                raise RetrainError(
                    f"a retrain is already running (job {other.name}, started by {who}); wait or cancel it"
                )
        prune(root, max(0, keep - 1))  # room for the new one: at most ``keep`` folders after it
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f".{time.time_ns() // 1000 % 1_000_000:06d}Z-"
        try:
            jd = Path(tempfile.mkdtemp(prefix=stamp, dir=root))
        except OSError as exc:
            raise RetrainError(
                f"cannot create a job folder in {str(root)!r} ({exc.strerror or exc})"
            ) from None
        spec = {
            "manifest": str(Path(manifest).resolve()),
            "old_bundle": str(Path(old_bundle).resolve()),
            "config": None if config is None else str(Path(config).resolve()),
            "user": user,
            "created": _now(),
        }
        _set_status(jd, "running", "starting", 0.0)
        _write_json(jd / JOB_FILE, spec)  # last: jobs() lists a folder from here on, with its status
        # Not vibsentry.process.spawn: its parent-death signal follows the *thread* that forked, and Streamlit
        # runs each script run in a thread that ends with the run. The child watches its parent instead.
        with open(jd / LOG_FILE, "wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "vibsentry.dashboard.retrain_job", str(jd)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # cancel() stops its whole process group
                env={**os.environ, PARENT_ENV: str(os.getpid())},
            )
        _CHILDREN[str(jd)] = child
        write_atomic(jd / PID_FILE, str(child.pid))  # for other processes; status.json is the child's
    return jd


def cancel(job_dir: str | os.PathLike[str]) -> bool:
    """Stop a running job (SIGTERM to its process group, SIGKILL after 10 s); its outputs are removed.

    Returns False when the job was not running any more (it finished first: nothing is changed).
    """
    jd = Path(job_dir)
    doc = _read_json(jd / STATUS_FILE) or {}
    if doc.get("state") != "running":
        return False
    child = _CHILDREN.pop(str(jd), None)
    pid = child.pid if child is not None else int(doc.get("pid") or 0)
    if pid <= 0 and (jd / PID_FILE).is_file():
        pid = int((jd / PID_FILE).read_text() or 0)
    if pid > 0 and _alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + 10.0
        while _alive(pid) and time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                break
            time.sleep(0.05)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if child is not None:
            child.wait()
    _discard_outputs(jd)
    _set_status(jd, "cancelled", str(doc.get("stage", "")), float(doc.get("fraction", 0.0)), "cancelled")
    return True


def comparison(job_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The job's ``comparison.json`` (None until the job is done)."""
    return _read_json(Path(job_dir) / COMPARISON_FILE)


def approval(job_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The job's ``approved.json`` (None until approved)."""
    return _read_json(Path(job_dir) / APPROVED_FILE)


# --------------------------------------------------------------------------------------------- approve


def check_signing_key(path: str | os.PathLike[str] | None) -> Path:
    """The configured signing key file, refused unless it is a regular file only its owner can access.

    Raises
    ------
    ConfigError
        No key configured.
    KeyFileError
        Missing, not a regular file, or with any group/other permission bit (mode & 0o077).
    """
    if not path:
        raise ConfigError(
            'no signing key configured: set signing_key = "/path/to/private.pem" in the [dashboard] table of '
            "the dashboard's TOML (--config); keys are never uploaded through the page"
        )
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise KeyFileError(
            f"signing key {p}: {exc.strerror or exc} (set signing_key in the dashboard's TOML)"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"signing key {p}: not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"signing key {p}: mode {stat.S_IMODE(st.st_mode):04o} lets group or others access it; "
            f"refusing to sign (chmod 600 {p})"
        )
    return p


def gate_reason(gate: dict[str, Any]) -> str:
    """The gate's verdict in plain words, with the numbers, e.g. ``NEW is worse than OLD by more than 0.01
    on auc (OLD 0.98, NEW 0.71: lower)``."""

    def num(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, (int, float)) else "?"

    old, new = gate.get("old", {}), gate.get("new", {})
    worse = list(gate.get("worse") or [])
    if not worse:
        return f"NEW is not worse than OLD by more than {num(gate.get('margin'))} on {', '.join(old) or '?'}"
    parts = [
        f"{k} (OLD {num(old.get(k))}, NEW {num(new.get(k))}: "
        + ("more false alarms" if k == "false_alarm_rate" else "lower")
        + ")"
        for k in worse
    ]
    return f"NEW is worse than OLD by more than {num(gate.get('margin'))} on " + ", ".join(parts)


def approve(
    job_dir: str | os.PathLike[str],
    *,
    bundles_dir: str | os.PathLike[str],
    name: str,
    key_path: str | os.PathLike[str] | None,
    public_key: str | os.PathLike[str] | None,
    user: str,
    role: str,
) -> dict[str, Any]:
    """Sign the job's new bundle with the server's key and publish it as ``bundles_dir/name``.

    The copy is signed and verified in a hidden folder inside ``bundles_dir`` and renamed into place in one
    step; on any error nothing is left there. Returns the approval record (also written as the job's
    ``approved.json`` and the bundle's ``approval.json``): ``bundle``, ``model_id``, ``counter``, ``key_id``,
    ``user``, ``role``, ``time``.

    Raises
    ------
    RetrainError
        The job is not done, the gate refused the model, it was approved already, or ``name`` is taken or
        invalid.
    ConfigError, KeyFileError, SignatureError
        The key is not configured, unsafe, or does not pair with ``public_key``.
    """
    from vibsentry.signing import sign_bundle, verify_bundle

    jd = Path(job_dir)
    s = status(jd)
    if s.state != "done":
        raise RetrainError(f"job {jd.name} is {s.state}, not done: nothing to approve")
    prior = approval(jd)
    if prior is not None:
        raise RetrainError(f"job {jd.name} was approved already as {prior['bundle']}")
    comp = comparison(jd) or {}
    gate = comp.get("gate", {})
    if not gate.get("passed", False):
        raise RetrainError(f"the no-regression gate refused this model: {gate_reason(gate)}; nothing signed")
    if not _NAME.match(name or ""):
        raise UsageError(f"bundle name {name!r}: letters, digits and _ . - only (at most 64), e.g. pump7-v2")
    key = check_signing_key(key_path)
    root = Path(bundles_dir)
    target = root / name
    if os.path.lexists(target):
        raise RetrainError(f"{target}: already exists; choose another bundle name")
    try:
        root.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".approve-{name}-", dir=root))
    except OSError as exc:
        raise RetrainError(
            f"cannot write to the bundles directory {str(root)!r} ({exc.strerror or exc})"
        ) from None
    try:
        work = stage / name
        shutil.copytree(jd / NEW_BUNDLE, work)
        m = sign_bundle(work, key, model_id=name)
        if public_key:
            verify_bundle(work, public_key)
        record = {
            "bundle": str(target),
            "model_id": name,
            "counter": m.counter,
            "key_id": m.doc["key_id"],
            "user": user,
            "role": role,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "job": jd.name,
            "gate": gate,
        }
        _write_json(work / APPROVAL_FILE, record)
        os.rename(work, target)  # one step: the Models view sees the signed bundle whole, or not at all
    except OSError as exc:
        raise RetrainError(f"cannot publish the signed bundle to {target} ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    _write_json(jd / APPROVED_FILE, record)
    return record


# --------------------------------------------------------------------------------------------- comparison


def _hist(scores: npt.NDArray[Any], normal: npt.NDArray[np.bool_], threshold: float | None) -> dict[str, Any]:
    """Histogram of log10(score) for normal and fault windows (same bins), and the threshold."""
    s = np.asarray(scores, dtype=np.float64)
    pos = s[s > 0]
    floor = float(pos.min()) if pos.size else 1e-6
    z = np.log10(np.maximum(s, floor))
    lo, hi = float(z.min()), float(z.max())
    if threshold is not None and threshold > 0:
        t = math.log10(threshold)
        lo, hi = min(lo, t), max(hi, t)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    return {
        "log10_edges": [float(e) for e in edges],
        "normal": np.histogram(z[normal], edges)[0].astype(int).tolist(),
        "fault": np.histogram(z[~normal], edges)[0].astype(int).tolist(),
        "threshold": threshold,
    }


def _side(b: Any, w: Any, metrics: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of one model on the common test windows."""
    from vibsentry.training.manifest import NORMAL

    i8 = metrics["int8"]
    normal = w.label == NORMAL
    out: dict[str, Any] = {
        "path": str(b.path),
        "name": Path(b.path).name,
        "kind": b.kind,
        "classes": list(b.classes),
        "created_at": b.meta.get("created_at"),
        "architecture": b.meta.get("model", {}).get("architecture"),
        "model_type": b.meta.get("model", {}).get("type"),
        "threshold": b.threshold,
        "n_windows": int(metrics["n_windows"]),
        "training_windows": b.meta.get("training_data", {}).get("windows"),
        "bundle_metrics": {
            k: v for k, v in b.meta.get("metrics", {}).get("int8", {}).items() if isinstance(v, (int, float))
        },
    }
    scores = metrics["_scores"]["int8"]
    if b.kind == "anomaly":
        out["metrics"] = {
            k: i8.get(k)
            for k in (
                "auc",
                "average_precision",
                "false_alarm_rate",
                "detection_rate",
                "false_alarms_per_hour",
                "fault_sequences_alarmed",
            )
        }
        out["per_class_auc"] = i8.get("per_class_auc", {})
        thr = np.float32(b.threshold if b.threshold is not None else np.inf)
        above = scores > thr
        cm = [
            [int(np.sum(normal & ~above)), int(np.sum(normal & above))],
            [int(np.sum(~normal & ~above)), int(np.sum(~normal & above))],
        ]
        out["confusion"] = {
            "rows": ["normal", "fault"],
            "columns": ["below threshold", "above threshold"],
            "matrix": cm,
        }
        out["histogram"] = _hist(scores, normal, b.threshold)
    else:
        out["metrics"] = {k: i8.get(k) for k in ("accuracy", "macro_f1", "false_alarm_rate")}
        out["confusion"] = {
            "rows": list(b.classes),
            "columns": list(b.classes),
            "matrix": i8["confusion_matrix"],
        }
        if NORMAL in b.classes:
            p_fault = 1.0 - scores[:, list(b.classes).index(NORMAL)]
            alarm_at = None if b.alarm is None else float(b.alarm.threshold)
            out["histogram"] = _hist(p_fault, normal, alarm_at)
    return out


def evaluate_pair(old_path: Path, new_path: Path, *, resample: bool = True) -> dict[str, Any]:
    """OLD and NEW on the retrain's own test windows.

    The new bundle's ``manifest.csv`` lists the old bundle's rows first, then the added ones; each part is
    split on its own with the old bundle's seed, exactly as :func:`~vibsentry.training.api.retrain_bundle`
    did, so these are the windows the gate compared (classifier: the old model only on classes it knows).
    """
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.dataset import build_windows
    from vibsentry.training.evaluate import evaluate_windows
    from vibsentry.training.manifest import read_manifest

    old, new = load_bundle(old_path), load_bundle(new_path)
    n_old = len(read_manifest(old.path / "manifest.csv"))
    rows = read_manifest(new.path / "manifest.csv")
    seed = int(new.meta.get("training", {}).get("seed", 0))
    kw: dict[str, Any] = dict(
        params=new.params, kind=new.kind, seed=seed, allow_resample=resample, quiet=True
    )
    parts = [build_windows(rows[:n_old], **kw)]
    if len(rows) > n_old:
        parts.append(build_windows(rows[n_old:], **kw))
    tests = [p.in_split("test") for p in parts]
    test = tests[0]
    if len(tests) > 1:
        from dataclasses import fields

        test = type(test)(
            **{f.name: np.concatenate([getattr(t, f.name) for t in tests]) for f in fields(test)}
        )
    if len(test) == 0:
        raise RetrainError("the retrain's test split is empty: nothing to compare the models on")
    keep = np.isin(test.label, old.classes) if old.kind == "classifier" else np.ones(len(test), bool)
    return {
        "old": _side(old, test.select(keep), evaluate_windows(old, test.select(keep))),
        "new": _side(new, test, evaluate_windows(new, test)),
        "n_test_windows": len(test),
    }


# --------------------------------------------------------------------------------------------- the child


#: Fraction of the bar each stage of the child covers: (start, end).
_STAGES: dict[str, tuple[float, float]] = {
    "checking": (0.0, 0.02),
    "features": (0.02, 0.25),
    "training": (0.25, 0.80),
    "converting": (0.80, 0.85),
    "comparing": (0.85, 0.99),
}


_STAGE_TEXT = {
    "checking": "checking the manifest and the old bundle",
    "features": "computing features",
    "training": "training",
    "converting": "converting to INT8, calibrating the threshold, evaluating",
    "comparing": "evaluating OLD and NEW on the same held-out windows",
}


class _Reporter:
    """Turns progress-bar steps of the training code into ``status.json`` updates (at most ~5 per second)."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = job_dir
        self.phase = "checking"
        self.last = 0.0
        self.high = 0.0

    def stage(self, phase: str, text: str, within: float = 0.0) -> None:
        self.phase = phase
        lo, hi = _STAGES[phase]
        # Never backwards: a retrain computes the features of the old and of the new rows in two passes.
        self.high = max(self.high, lo + (hi - lo) * within)
        _set_status(self.job_dir, "running", text, self.high)
        self.last = time.monotonic()

    def __call__(self, desc: str, done: int, total: int | None) -> None:
        frac = done / total if total else 0.0
        if desc == "training":
            phase, text = "training", f"training: epoch {done} of at most {total}"
            if total and done >= total:
                phase, text, frac = (
                    "converting",
                    "converting to INT8, calibrating the threshold, evaluating",
                    0.0,
                )
        elif desc == "features" and self.phase != "comparing":
            phase, text = "features", f"computing features: {done} of {total} recordings"
            if total and done >= total:  # TensorFlow loads next (seconds to a minute): say so
                phase, text, frac = "training", "starting the training (loading TensorFlow)", 0.0
        else:
            phase, text = self.phase, f"{_STAGE_TEXT[self.phase]} ({desc} {done} of {total})"
        if phase != self.phase or time.monotonic() - self.last > 0.2 or (total and done >= total):
            self.stage(phase, text, frac)


_PARENT_GONE: list[bool] = []


def _watch_parent() -> None:
    """SIGTERM this process when the server that started it is gone (checked every second)."""
    import threading

    want = int(os.environ.get(PARENT_ENV, "0") or 0)
    if want <= 0:
        return

    def watch() -> None:
        while os.getppid() == want:
            time.sleep(1.0)
        _PARENT_GONE.append(True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_job(job_dir: str | os.PathLike[str]) -> int:
    """Body of the background process: retrain, compare, write the outputs; 0 on success."""
    from vibsentry import progress
    from vibsentry.training.api import load_config, retrain_bundle

    jd = Path(job_dir)
    spec = job_spec(jd)
    rep = _Reporter(jd)

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    _watch_parent()
    try:
        _set_status(jd, "running", _STAGE_TEXT["checking"], 0.0, pid=os.getpid())
        rep.stage("checking", _STAGE_TEXT["checking"])
        _, cfg = load_config(spec.get("config"))

        with progress.observe(rep):
            retrain_bundle(
                spec["old_bundle"], spec["manifest"], jd / NEW_BUNDLE, config=spec.get("config"), force=True
            )
            rep.stage("comparing", _STAGE_TEXT["comparing"])
            comp = evaluate_pair(Path(spec["old_bundle"]), jd / NEW_BUNDLE, resample=cfg.resample)
        comp["new"]["name"] = f"retrained in job {jd.name}"
        meta = json.loads((jd / NEW_BUNDLE / "bundle.json").read_text(encoding="utf-8"))
        gate = dict(meta["retrained_from"]["comparison"])
        gate["passed"] = not gate["worse"]
        comp["gate"] = gate
        _write_json(jd / COMPARISON_FILE, comp)
    except KeyboardInterrupt:
        _discard_outputs(jd)
        why = "the dashboard server stopped" if _PARENT_GONE else "cancelled"
        _set_status(jd, "cancelled", rep.phase, 0.0, why)
        return 130
    except VibsentryError as exc:
        _discard_outputs(jd)
        _set_status(
            jd, "failed", rep.phase, 0.0, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        )
        print(f"retrain job failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a crash is reported in one line; the traceback goes to log.txt
        _discard_outputs(jd)
        traceback.print_exc()
        first = (str(exc).splitlines() or [""])[0]
        _set_status(
            jd,
            "failed",
            rep.phase,
            0.0,
            f"training crashed ({type(exc).__name__}: {first}); see {jd / LOG_FILE}",
        )
        return 1
    _set_status(jd, "done", "done", 1.0, "")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m vibsentry.dashboard.retrain_job JOB_DIR``: run one job (started by :func:`start`)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not (Path(args[0]) / JOB_FILE).is_file():
        print(
            "usage: python -m vibsentry.dashboard.retrain_job JOB_DIR (a folder with job.json)",
            file=sys.stderr,
        )
        return 2
    return run_job(args[0])


def describe_status(s: JobStatus, clock: Callable[[], float] = _now) -> str:
    """One line for the page: stage and elapsed time."""
    elapsed = max(0.0, (s.updated if not s.running else clock()) - s.started)
    return f"{s.stage} · {elapsed:.0f} s"


__all__ = [
    "JobStatus",
    "RetrainError",
    "approve",
    "cancel",
    "check_signing_key",
    "comparison",
    "find_bundles",
    "find_manifests",
    "gate_reason",
    "latest",
    "prune",
    "start",
    "status",
]

if __name__ == "__main__":
    sys.exit(main())
