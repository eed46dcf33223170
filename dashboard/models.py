"""The dashboard's Models view, data side: each node's running model from its MODEL_STATUS records, the bundles
that may be deployed (signed and verified with the plant's public key), and a deploy through the gateway.

Layout lives in ``app.py``; this module does the work (docs/deploy.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.commands import SOCKET_NAME
from vibsentry.dashboard.gateway.deploy import GatewayLink, LinkLost, NodeReport, Update, deploy_node
from vibsentry.errors import DeployError, SignatureError

MODEL_COLUMNS = (
    "node",
    "machine",
    "slot",
    "state",
    "counter",
    "model_hash",
    "trial",
    "last_refusal",
    "updated",
)
_SLOTS = {int(s): ("built-in" if s == vp.ModelSlot.BUILTIN else s.name) for s in vp.ModelSlot}


def _name(enum: type, code: int) -> str:
    try:
        return str(enum(code).name)
    except ValueError:
        return str(code)


def model_table(store: str | Path) -> pd.DataFrame:
    """The newest MODEL_STATUS of every node in a SQLite store (columns :data:`MODEL_COLUMNS`).

    Read-only connection; an empty frame when no node with model updates has reported.
    """
    db = sqlite3.connect(f"file:{Path(store)}?mode=ro", uri=True, timeout=5.0)
    try:
        rows = db.execute(
            "SELECT s.node, COALESCE(n.machine, ''), s.ts_ns, s.model_hash, s.counters FROM status s "
            "JOIN (SELECT node, MAX(ts_ns) AS t FROM status WHERE kind = 'model' GROUP BY node) m "
            "ON s.node = m.node AND s.ts_ns = m.t AND s.kind = 'model' "
            "LEFT JOIN nodes n ON n.node = s.node ORDER BY s.node"
        ).fetchall()
    finally:
        db.close()
    out = []
    for node, machine, ts, mhash, counters in rows:
        c = json.loads(counters or "{}")
        state = int(c.get("model_state", 0))
        out.append(
            {
                "node": int(node),
                "machine": machine,
                "slot": _SLOTS.get(int(c.get("model_slot", 0)), "?"),
                "state": _name(vp.ModelState, state).lower(),
                "counter": int(c.get("model_counter", 0)),
                "model_hash": (mhash or "")[:16],
                "trial": f"{c.get('trial_frames', 0)}/{c.get('trial_target', 0)}"
                if state == vp.ModelState.TRIAL
                else "",
                "last_refusal": _name(vp.NackReason, int(c["last_error"])) if c.get("last_error") else "",
                "updated": pd.Timestamp(int(ts), unit="ns", tz="UTC"),
            }
        )
    return pd.DataFrame(out, columns=list(MODEL_COLUMNS))


@dataclass(frozen=True)
class Candidate:
    """A bundle found for deployment: ``ok`` when its signature verifies; ``detail`` says what it is or why not."""

    path: Path
    ok: bool
    detail: str
    counter: int = 0


def candidates(bundles_dir: str | Path, public_key: str | Path) -> list[Candidate]:
    """Every subdirectory of ``bundles_dir`` with a ``signed_manifest.json``, verified with ``public_key``."""
    from vibsentry.signing import MANIFEST_FILE, verify_bundle

    root = Path(bundles_dir)
    out = []
    # Hidden folders are skipped: an approval signs its copy in one (dashboard/retrain_job.py) before the
    # rename that publishes it.
    listed = (p for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST_FILE).is_file())
    for b in sorted(listed) if root.is_dir() else []:
        try:
            m = verify_bundle(b, public_key)
        except (SignatureError, OSError) as exc:
            out.append(Candidate(b, False, str(exc)))
        else:
            doc = m.doc
            detail = f"{doc['model_id']} counter {m.counter}, key {doc['key_id']}"
            approved = _approval(b)
            if approved:
                detail += f", approved by {approved.get('user', '?')} {approved.get('time', '')}".rstrip()
            out.append(Candidate(b, True, detail, m.counter))
    return out


def _approval(bundle: Path) -> dict[str, object] | None:
    """The dashboard approval record of a bundle (``approval.json``, not signed: who approved it), if any."""
    from vibsentry.dashboard.retrain_job import APPROVAL_FILE

    try:
        doc = json.loads((bundle / APPROVAL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def deploy(
    gateway_dir: str | Path,
    candidate: Candidate,
    nodes: list[int],
    *,
    public_key: str | Path,
    progress: Callable[[int, int, int], None] | None = None,
    confirm_s: float = 60.0,
) -> list[NodeReport]:
    """Verify ``candidate`` again (it may have changed since it was listed), then deploy it node by node
    through the gateway whose data directory is ``gateway_dir``. Raises SignatureError / DeployError."""
    from vibsentry.signing import verify_bundle

    verify_bundle(candidate.path, public_key)
    update = Update.from_bundle(candidate.path)
    try:
        link = GatewayLink(Path(gateway_dir) / SOCKET_NAME, nodes)
    except LinkLost as exc:
        raise DeployError(
            f"{exc}; is the gateway (vibsentry ingest) running with this data directory?"
        ) from None
    reports = []
    try:
        for node in nodes:
            try:
                reports.append(deploy_node(link, node, update, progress=progress, confirm_s=confirm_s))
            except DeployError as exc:
                reports.append(NodeReport(node, stage="unreachable", reason=str(exc)))
    finally:
        link.close()
    return reports
