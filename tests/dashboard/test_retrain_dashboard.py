"""Retraining from the dashboard (issue H item 6): the real app in AppTest over a real SQLite store, a real
background training process (small autoencoder, few epochs), OLD vs NEW, approval signing with a real key.

The old bundle is trained once per module; a finished job (``done_job``) is shared by the role tests, which
only read it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard import SECOND, make_records, raw_capture, run_view
from tests.support.training import FS, toy_signal, write_config, write_toy_dataset
from vibsentry.dashboard import retrain_job as rj
from vibsentry.dashboard.audit import AuditLog
from vibsentry.dashboard.store.sqlite import SQLiteStore

pytestmark = pytest.mark.needs_tf  # the OLD bundle is trained (once, then cached) and jobs train

JOB_BOUND_S = 85.0  # a job takes 15-45 s here; the bound is generous, the wait ends when the job does


def wait_for(cond: Callable[[], bool], what: str, bound_s: float = JOB_BOUND_S) -> None:
    """Poll ``cond`` until it holds; fail naming ``what`` after ``bound_s`` seconds."""
    deadline = time.monotonic() + bound_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {bound_s:g} s")
        time.sleep(0.1)


ROOT = Path(__file__).resolve().parents[2]


def old_bundle() -> Path:
    """The OLD bundle: the toy recordings with a fast config, trained once per change of the code that
    shapes it and cached under ``build/`` (TensorFlow alone takes 10-45 s to import on a busy 2-core VM)."""
    import fcntl
    import hashlib

    from vibsentry.training.api import train_bundle

    h = hashlib.sha256()
    sources = [p for d in ("training", "dsp", "runtime", "codegen") for p in ROOT.glob(f"{d}/*.py")]
    for f in sorted([*sources, ROOT / "tests" / "support" / "training.py"]):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    work = ROOT / "build" / "retrain_test" / h.hexdigest()[:16]
    work.mkdir(parents=True, exist_ok=True)
    with open(work / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel runs: one trains, the others wait and reuse
        if not (work / "pump-v1" / "bundle.json").is_file():
            manifest = write_toy_dataset(
                work / "data",
                n_normal=3,
                normal_seconds=6.0,
                fault_seconds=3.0,
                faults=("outer_race",),
                n_fault=2,
            )
            write_config(work / "train.toml", epochs=5, patience=3)
            train_bundle(manifest, work / "pump-v1", config=work / "train.toml")
    return work


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The cached OLD bundle, its fast training config, and a fresh plant key pair."""
    from vibsentry.signing import new_keypair

    work = old_bundle()
    keys = new_keypair(tmp_path_factory.mktemp("keys") / "plant")
    return {
        "config": work / "train.toml",
        "old": work / "pump-v1",
        "private": keys.private,
        "public": keys.public,
    }


def fault_store(path: Path) -> Path:
    """A SQLite store (the gateway's writer) of three nodes where node 2 sent three raw captures of an
    inner-race fault in the last minute."""
    now = time.time_ns()
    recs = make_records(t0_ns=now - 125 * SECOND, n_nodes=3, seconds=120)
    for i in range(3):
        x = toy_signal(2.0, fault="inner_race", seed=300 + i, fs=FS)
        recs += raw_capture(2, 40 + i, now - (60 - 5 * i) * SECOND, x)
    store = SQLiteStore(path)
    try:
        store.write(recs)
    finally:
        store.close()
    return path


@pytest.fixture()
def env(world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A store where node 2 sent three raw captures of an inner-race fault, and every dashboard setting."""
    store = fault_store(tmp_path / "s.sqlite")
    bundles = tmp_path / "bundles"
    shutil.copytree(world["old"], bundles / "pump-v1")
    paths = {
        "store": store,
        "audit": tmp_path / "audit.sqlite",
        "exports": tmp_path / "exports",
        "bundles": bundles,
        "jobs": tmp_path / "jobs",
    }
    for key, value in {
        "STORE": f"sqlite:{store}",
        "AUDIT": str(paths["audit"]),
        "EXPORT_DIR": str(paths["exports"]),
        "BUNDLES_DIR": str(bundles),
        "RETRAIN_DIR": str(paths["jobs"]),
        "RETRAIN_CONFIG": str(world["config"]),
        "SIGNING_KEY": str(world["private"]),
        "DEPLOY_PUB": str(world["public"]),
        "ANONYMOUS_ROLE": "admin",
    }.items():
        monkeypatch.setenv(f"VIBSENTRY_DASHBOARD_{key}", value)
    return paths


def export_manifest(env: dict[str, Path]) -> Path:
    """The inner-race captures exported the way the view does it (retrain_export), for tests that start
    the job directly."""
    from vibsentry.dashboard import retrain_export
    from vibsentry.dashboard.queries import SqliteSource

    now = time.time_ns()
    res = retrain_export.export(
        SqliteSource(env["store"]),
        node=2,
        start_ns=now - 300 * SECOND,
        end_ns=now,
        label="inner_race",
        out_dir="faults",
        root=env["exports"],
    )
    assert res.manifest is not None and len(res.recordings) == 3
    return res.manifest


def finished_job(world: dict[str, Path], jd: Path, *, auc_drop: float = 0.0) -> Path:
    """A finished job folder in the format the job writes, without a training run: NEW is a copy of OLD,
    compared for real on the held-out windows. ``auc_drop`` > the margin stands for a NEW that got worse: its
    AUC in the comparison and in the gate is lowered by that much, as ``retrain_bundle`` would record a worse
    model (training one deliberately worse is slow and not reliably worse on the toy data)."""
    jd.mkdir()
    shutil.copytree(world["old"], jd / rj.NEW_BUNDLE)
    spec = {"manifest": "exports/faults/manifest.csv", "old_bundle": str(world["old"]), "config": None}
    (jd / rj.JOB_FILE).write_text(json.dumps({**spec, "user": "ci", "created": 0.0}))
    comp = rj.evaluate_pair(world["old"], jd / rj.NEW_BUNDLE)
    head = {k: comp["old"]["metrics"][k] for k in ("auc", "false_alarm_rate")}
    new_head = {**head, "auc": head["auc"] - auc_drop}
    comp["new"]["metrics"]["auc"] = new_head["auc"]
    worse = ["auc"] if auc_drop > 0.01 else []
    comp["gate"] = {
        "old": head,
        "new": new_head,
        "margin": 0.01,
        "worse": worse,
        "passed": not worse,
        "n_test_windows": 0,
    }
    (jd / rj.COMPARISON_FILE).write_text(json.dumps(comp))
    rj._set_status(jd, "done", "done", 1.0)
    return jd


@pytest.fixture(scope="module")
def done_job(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished job for the role tests (the gate passes: nothing got worse)."""
    return finished_job(world, tmp_path_factory.mktemp("jobs") / "20261206T000000Z-done")


@pytest.fixture(scope="module")
def refused_job(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished job whose NEW lost 0.25 of AUC: the gate refuses it."""
    return finished_job(world, tmp_path_factory.mktemp("jobs") / "20261206T000000Z-refused", auc_drop=0.25)


def metrics_table(at: AppTest) -> Any:
    """The OLD/NEW metrics table of the comparison."""
    return next(d.value for d in at.dataframe if "metric" in d.value.columns)


def comp_windows(job: Path) -> int:
    comp = rj.comparison(job)
    assert comp is not None
    return int(comp["n_test_windows"])


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


@pytest.mark.slow
def test_export_retrain_compare_approve_and_deploy_candidate(
    env: dict[str, Path], world: dict[str, Path]
) -> None:
    """The whole loop on one page: export -> background retrain with progress -> OLD vs NEW -> approve."""
    from vibsentry.signing import verify_bundle

    at = run_view("retrain")
    at.selectbox(key="rt-node").set_value(2).run()
    next(t for t in at.text_input if t.label == "Label").set_value("inner_race")
    at.text_input(key="rt-dir").set_value("faults")
    next(b for b in at.button if b.label == "Export").click().run()
    assert not at.error, texts(at, "error")
    assert not at.info, texts(at, "info") + texts(at, "warning") + texts(at, "success")
    assert str(at.selectbox(key="rt-manifest-pick").value).endswith("faults/manifest.csv")
    assert str(at.selectbox(key="rt-old").value).endswith("pump-v1")
    t0 = time.monotonic()
    at.button(key="rt-start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    started_s = time.monotonic() - t0
    job = rj.latest(env["jobs"])
    assert job is not None and rj.status(job).running
    assert at.get("progress"), "a progress bar while the job runs"
    assert at.button(key="rt-cancel")  # the page is live: rendered while the child trains
    fractions = []

    def finished() -> bool:
        s = rj.status(job)
        fractions.append(s.fraction)
        return not s.running

    wait_for(finished, "the retrain job finishing")
    assert rj.status(job).state == "done", rj.status(job).message
    assert max(fractions) > 0.0 and fractions == sorted(fractions[:-1]) + fractions[-1:]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No-regression gate: PASSED" in s for s in texts(at, "success")), texts(at, "success")
    metrics = metrics_table(at).set_index("metric")
    assert list(metrics.columns) == ["OLD", "NEW", "change"] and "auc" in metrics.index
    cms = [d.value for d in at.dataframe if list(d.value.index) == ["normal", "fault"]]
    assert len(cms) == 2 and all(int(cm.to_numpy().sum()) == comp_windows(job) for cm in cms)
    assert len(at.get("vega_lite_chart")) >= 2, "two score histograms"
    comp = rj.comparison(job)
    assert comp is not None and comp["old"]["n_windows"] == comp["new"]["n_windows"] == comp["n_test_windows"]
    assert comp["gate"]["n_test_windows"] == comp["n_test_windows"]  # the windows the gate compared

    at.text_input(key="rt-name").set_value("pump-v2")
    at.button(key="rt-approve").click().run()
    assert not at.error, texts(at, "error")
    assert any("Approved by `anonymous`" in s and "pump-v2" in s for s in texts(at, "success")), texts(
        at, "success"
    )
    signed = env["bundles"] / "pump-v2"
    m = verify_bundle(signed, world["public"])
    assert m.doc["model_id"] == "pump-v2"
    assert not [p for p in env["bundles"].iterdir() if p.name.startswith(".")], "no staging left"
    rows = AuditLog(env["audit"]).recent()
    assert set(rows["action"]) >= {"export", "retrain", "approve"}
    assert rows[rows["action"] == "approve"].iloc[0]["outcome"] == "ok"

    models = run_view("models")
    offered = models.selectbox(key="deploy-bundle").options
    assert any(o.startswith("pump-v2:") and "approved by anonymous" in o for o in offered), offered
    print(
        f"\nretrain page: start click rendered in {started_s:.2f} s; job done in {time.monotonic() - t0:.1f} s"
    )


@pytest.mark.parametrize("role", ["viewer", "operator", "read-only"])
def test_only_admins_approve(
    role: str, env: dict[str, Path], done_job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(done_job, env["jobs"] / done_job.name)
    if role == "read-only":
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_READ_ONLY", "1")  # the anonymous admin is capped at viewer
    else:
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", role)
    at = run_view("retrain")
    assert any("No-regression gate" in s for s in texts(at, "success"))  # everyone sees the comparison
    assert "auc" in set(metrics_table(at)["metric"])
    keys = {b.key for b in at.button}
    assert "rt-approve" not in keys
    assert any("needs the admin role" in i for i in texts(at, "info"))
    may_start = not any("Starting a retrain needs the operator role" in i for i in texts(at, "info"))
    assert may_start == (role == "operator")
    assert rj.approval(env["jobs"] / done_job.name) is None


def test_unsafe_or_missing_key_is_one_clear_line_and_nothing_is_published(
    env: dict[str, Path], done_job: Path, world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(done_job, env["jobs"] / done_job.name)
    key = env["bundles"].parent / "loose.pem"
    shutil.copyfile(world["private"], key)
    os.chmod(key, 0o640)
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_SIGNING_KEY", str(key))
    at = run_view("retrain")
    at.text_input(key="rt-name").set_value("pump-v2")
    at.button(key="rt-approve").click().run()
    assert texts(at, "error") == [texts(at, "error")[0]] and "mode 0640" in texts(at, "error")[0]
    assert "chmod 600" in texts(at, "error")[0] and "\n" not in texts(at, "error")[0]
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_SIGNING_KEY", str(key.with_name("absent.pem")))
    at = run_view("retrain")
    at.text_input(key="rt-name").set_value("pump-v2")
    at.button(key="rt-approve").click().run()
    assert len(at.error) == 1 and "absent.pem" in at.error[0].value, texts(at, "error")
    assert sorted(p.name for p in env["bundles"].iterdir()) == ["pump-v1"]
    rows = AuditLog(env["audit"]).recent()
    assert list(rows[rows["action"] == "approve"]["outcome"]) == ["refused", "refused"]


def test_failed_training_is_one_line_and_leaves_no_bundle(
    env: dict[str, Path], world: dict[str, Path]
) -> None:
    """The child fails (a recording of the old bundle relabelled): failed, one line, nothing half-written."""
    conflict = env["exports"] / "relabelled"
    conflict.mkdir(parents=True)
    normal = (world["old"].parent / "data" / "normal_0.wav").resolve()
    (conflict / "manifest.csv").write_text(f"path,label,group\n{normal},outer_race,n0\n")
    jd = rj.start(
        env["jobs"],
        manifest=conflict / "manifest.csv",
        old_bundle=world["old"],
        config=world["config"],
        user="t",
    )
    wait_for(lambda: not rj.status(jd).running, "the failing job ending")
    s = rj.status(jd)
    assert s.state == "failed" and "was labelled 'normal'" in s.message and "\n" not in s.message, s
    assert not (jd / rj.NEW_BUNDLE).exists() and not list(jd.glob(".new*")) and rj.comparison(jd) is None
    at = run_view("retrain")
    errors = texts(at, "error")
    assert len(errors) == 1 and errors[0].startswith("Retrain failed:") and "was labelled" in errors[0], (
        errors
    )


def test_bad_manifest_refused_and_a_killed_job_leaves_no_bundle(
    env: dict[str, Path], world: dict[str, Path]
) -> None:
    bad = env["exports"] / "bad"
    bad.mkdir(parents=True)
    (bad / "manifest.csv").write_text("path,label\nmissing.wav,normal\n")
    with pytest.raises(Exception, match=r"missing\.wav") as exc:
        rj.start(
            env["jobs"],
            manifest=bad / "manifest.csv",
            old_bundle=world["old"],
            config=world["config"],
            user="t",
        )
    assert "\n" not in str(exc.value) and rj.latest(env["jobs"]) is None  # refused before anything started

    jd = rj.start(
        env["jobs"], manifest=export_manifest(env), old_bundle=world["old"], config=world["config"], user="t"
    )
    with pytest.raises(rj.RetrainError, match="already running"):  # one job at a time per server
        rj.start(env["jobs"], manifest=export_manifest(env), old_bundle=world["old"], config=None, user="u")
    # Once the child has written its own status (it is importing TensorFlow or computing features by then).
    wait_for(lambda: rj.status(jd).stage != "starting", "the job process starting")
    pid = int(rj._read_json(jd / rj.STATUS_FILE)["pid"])  # type: ignore[index]
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not rj.status(jd).running, "the killed job being noticed", 20.0)
    s = rj.status(jd)
    assert s.state == "failed" and "ended unexpectedly" in s.message, s
    assert not (jd / rj.NEW_BUNDLE).exists() and not list(jd.glob(".new*")) and rj.comparison(jd) is None
    at = run_view("retrain")
    assert any("Retrain failed" in e for e in texts(at, "error"))
    assert at.button(key="rt-start")  # a new retrain can start


def test_gate_refusal_is_shown_in_plain_words_and_nothing_is_signed(
    env: dict[str, Path], refused_job: Path
) -> None:
    """NEW worse than OLD: the verdict and the reason with both numbers; Approve disabled, one line why;
    approve() itself refuses; nothing reaches the bundles directory."""
    job = env["jobs"] / refused_job.name
    shutil.copytree(refused_job, job)
    at = run_view("retrain")  # the anonymous role is admin here: even an admin cannot approve it
    assert not at.exception, [e.value for e in at.exception]
    gate = rj.comparison(job)["gate"]  # type: ignore[index]
    errors = texts(at, "error")
    assert len(errors) == 1 and errors[0].startswith("No-regression gate: REFUSED."), errors
    old_auc, new_auc = f"{gate['old']['auc']:.3g}", f"{gate['new']['auc']:.3g}"
    assert f"on auc (OLD {old_auc}, NEW {new_auc}: lower)" in errors[0], errors
    assert not any("PASSED" in t for t in texts(at, "success"))
    metrics = metrics_table(at).set_index("metric")
    assert metrics.loc["auc", "NEW"] == f"{gate['new']['auc']:.4g}"  # the table agrees with the verdict
    assert at.button(key="rt-approve").disabled
    assert "rt-name" not in {t.key for t in at.text_input}
    refusals = [i for i in texts(at, "info") if i.startswith("Approval refused")]
    assert len(refusals) == 1 and "\n" not in refusals[0], texts(at, "info")
    with pytest.raises(
        rj.RetrainError, match=r"^the no-regression gate refused this model: NEW is worse"
    ) as e:
        rj.approve(
            job,
            bundles_dir=env["bundles"],
            name="pump-v2",
            key_path=env["bundles"].parent / "unused.pem",  # refused before the key is even looked at
            public_key=None,
            user="admin",
            role="admin",
        )
    assert "\n" not in str(e.value) and "nothing signed" in str(e.value)
    assert sorted(p.name for p in env["bundles"].iterdir()) == ["pump-v1"]  # no bundle, no staging folder
    assert rj.approval(job) is None


def test_cancel_stops_the_child_and_a_new_job_can_start(env: dict[str, Path]) -> None:
    """Cancel on the page while the child trains: its process group is gone, the job is cancelled with no
    new bundle, staging folder or comparison left, and Start works again."""
    export_manifest(env)
    at = run_view("retrain")
    at.button(key="rt-start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = rj.latest(env["jobs"])
    assert job is not None and rj.status(job).running
    # In the middle of training (TensorFlow loaded, epochs running): the hardest moment to stop it cleanly.
    wait_for(lambda: "epoch" in rj.status(job).stage, "the job reaching its training epochs")
    pid = int(rj._read_json(job / rj.STATUS_FILE)["pid"])  # type: ignore[index]
    assert rj._alive(pid)
    at.run()
    t0 = time.monotonic()
    at.button(key="rt-cancel").click().run()
    print(f"\ncancel during '{rj.status(job).stage}': page returned in {time.monotonic() - t0:.2f} s")
    assert not at.exception, [e.value for e in at.exception]
    assert not rj._alive(pid)  # cancel() returns once the child is gone
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing of its process group either
    s = rj.status(job)
    assert s.state == "cancelled" and s.message == "cancelled", s
    assert rj.cancel(job) is False and rj.status(job).state == "cancelled"  # a second cancel changes nothing
    assert not (job / rj.NEW_BUNDLE).exists() and not list(job.glob(".new*")) and rj.comparison(job) is None
    assert sorted(p.name for p in env["bundles"].iterdir()) == ["pump-v1"]
    assert any(i.startswith("Retrain cancelled") for i in texts(at, "info")), texts(at, "info")
    assert not at.error, texts(at, "error")
    rows = AuditLog(env["audit"]).recent()
    assert "cancelled" in set(rows[rows["action"] == "retrain"]["detail"])

    at.button(key="rt-start").click().run()  # the next Start works
    assert not at.exception and not at.error, texts(at, "error")
    again = rj.latest(env["jobs"])
    assert again is not None and again != job and rj.status(again).running
    assert at.button(key="rt-cancel")
    rj.cancel(again)
    assert rj.status(again).state == "cancelled"


def test_old_finished_jobs_are_pruned_and_a_running_one_is_kept(tmp_path: Path) -> None:
    """prune(keep=2): the oldest finished folders go; a running job (a live pid) stays whatever its age."""
    root = tmp_path / "jobs"
    made = []
    for i, state in enumerate(["running", "done", "failed", "cancelled", "done"]):
        jd = root / f"2026120{i}T000000.000000Z-x"
        jd.mkdir(parents=True)
        (jd / rj.JOB_FILE).write_text("{}")
        rj._set_status(jd, state, state, 0.0, pid=os.getpid() if state == "running" else 0)
        made.append(jd)
    gone = rj.prune(root, keep=2)
    assert gone == made[1:3]
    assert rj.jobs(root) == [made[0], *made[3:]] and not made[1].exists() and not made[2].exists()
    assert rj.prune(root, keep=2) == []
