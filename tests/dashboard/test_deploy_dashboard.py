"""The dashboard's Models view (real app in AppTest, real SQLite store written by the gateway's store writer):
each node's running model from its MODEL_STATUS records; deploying is offered to admins only, lists only
bundles that verify with the configured public key, and every attempt lands in the audit log."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.dashboard import run_view
from tests.support.update_node import tiny_bundle
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore


def model_status(node: int, t_ns: int, *, slot: int, state: int, counter: int, last_error: int = 0) -> Record:
    """A MODEL_STATUS as the gateway's tracker stores it."""
    return Record(
        "model",
        node,
        t_ns,
        0,
        {
            "model_hash": "ab" * 32,
            "counters": {
                "model_slot": slot,
                "model_state": state,
                "model_counter": counter,
                "trial_frames": 2,
                "trial_target": 8,
                "staged_bytes": 0,
                "staged_total": 0,
                "last_error": last_error,
            },
        },
    )


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "s.sqlite"
    now = time.time_ns()
    s = SQLiteStore(path)
    try:
        s.write(
            [
                model_status(3, now - 5_000_000_000, slot=0, state=1, counter=0),
                model_status(3, now - 1_000_000_000, slot=1, state=3, counter=7, last_error=10),
                model_status(4, now - 2_000_000_000, slot=2, state=2, counter=8),
            ]
        )
    finally:
        s.close()
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_AUDIT", str(tmp_path / "audit.sqlite"))
    return path


def test_models_table_and_viewer_cannot_deploy(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", "viewer")
    at = run_view("models")
    df = at.dataframe[0].value
    rows = df.set_index("node")[["slot", "state", "counter", "trial", "last_refusal"]].to_dict("index")
    assert rows == {
        3: {"slot": "A", "state": "confirmed", "counter": 7, "trial": "", "last_refusal": "COUNTER"},
        4: {"slot": "B", "state": "trial", "counter": 8, "trial": "2/8", "last_refusal": ""},
    }
    assert not at.button and any("admin role" in i.value for i in at.info)


def test_admin_sees_only_verified_bundles_and_attempts_are_audited(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vibsentry.cli import main
    from vibsentry.dashboard.audit import AuditLog

    bundles = tmp_path / "bundles"
    for name in ("plant", "other"):
        assert main(["keys", "new", "--out", str(tmp_path / name)]) == 0
    good, foreign = tiny_bundle(bundles / "pump7"), tiny_bundle(bundles / "foreign")
    assert main(["sign", str(good), "--key", str(tmp_path / "plant" / "private.pem"), "--counter", "9"]) == 0
    assert (
        main(["sign", str(foreign), "--key", str(tmp_path / "other" / "private.pem"), "--counter", "9"]) == 0
    )
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", "admin")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_DEPLOY_PUB", str(tmp_path / "plant" / "public.key"))
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_BUNDLES_DIR", str(bundles))
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_GATEWAY_DIR", str(tmp_path / "no-gateway"))
    at = run_view("models")
    box = at.selectbox(key="deploy-bundle")
    assert [o.split(":")[0] for o in box.options] == ["pump7"]  # the other key's bundle is not offered
    at.multiselect(key="deploy-nodes").set_value([3, 4])
    at.button(key="deploy-go").click().run()
    assert any("vibsentry ingest" in e.value for e in at.error), [e.value for e in at.error]
    rows = AuditLog(str(tmp_path / "audit.sqlite")).recent()
    deploys = rows[rows["action"] == "deploy"]
    assert (
        len(deploys) == 1 and deploys.iloc[0]["outcome"] == "refused" and "pump7" in deploys.iloc[0]["target"]
    )
