"""Dashboard hardening (issue K): every view survives an ordinary fleet, node text stays text, writes are
confined and audited. Real SQLite stores written by the gateway's own store writer, the real app in AppTest."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.dashboard import APP, FEATURE_HASH, SECOND, make_records, raw_capture, run_view
from tests.support.hardening import snapshot, tiny_fs
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore


def hello(node: int, t_ns: int, machine: str) -> Record:
    """A HELLO as the gateway stores it."""
    return Record(
        "hello",
        node,
        t_ns,
        0,
        {
            "fw_version": "1.0.0",
            "feature_hash": FEATURE_HASH,
            "model_hash": "ef" * 32,
            "uptime_ms": 0,
            "machine": machine,
            "counters": {},
            "hash_mismatch": False,
            "port": "/dev/pts/9",
        },
        machine=machine,
    )


def write_store(path: Path, extra: list[Record]) -> None:
    store = SQLiteStore(path)
    try:
        store.write([*make_records(t0_ns=time.time_ns() - 65 * SECOND, n_nodes=2, seconds=60), *extra])
    finally:
        store.close()


@pytest.fixture()
def fresh_node_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two nodes with scores and node 9 that has sent HELLO only (just booted)."""
    path = tmp_path / "s.sqlite"
    write_store(path, [hello(9, time.time_ns() - 2 * SECOND, "fresh-9")])
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    return path


@pytest.mark.parametrize(
    ("view", "params"),
    [("fleet", {}), ("machine", {"node": "9"}), ("machine", {"node": "1"}), ("retrain", {})],
)
def test_views_survive_a_node_without_scores(
    fresh_node_store: Path, view: str, params: dict[str, str]
) -> None:
    at = run_view(view, **params)
    if view == "fleet":
        counts = {m.label: m.value for m in at.metric if m.label in ("Ok", "Warning", "Alarm", "Offline")}
        assert counts == {"Ok": "3", "Warning": "0", "Alarm": "0", "Offline": "0"}
    if view == "machine" and params["node"] == "9":
        assert {m.label: m.value for m in at.metric}["Last score"] == "—"


# ------------------------------------------------------------------------------------ finding 6: node text


def hostile_store(path: Path, trap_url: str, name2: str = "[Re-login]({trap}/login)") -> dict[int, str]:
    """A store whose node 2 (in alarm) and node 5 carry Markdown/HTML in their machine name and firmware."""
    import dataclasses

    names = {2: name2.format(trap=trap_url), 5: f"![]({trap_url}/t.png) <img src='{trap_url}/h.png'>"}
    recs = [
        dataclasses.replace(r, machine=names[2], fields={**r.fields, "machine": names[2]})
        if r.node == 2 and r.kind == "hello"
        else (dataclasses.replace(r, machine=names[2]) if r.node == 2 else r)
        for r in make_records(t0_ns=time.time_ns() - 65 * SECOND, n_nodes=2, seconds=60, fault_at_s=30)
    ]
    h5 = hello(5, time.time_ns() - SECOND, names[5])
    recs.append(dataclasses.replace(h5, fields={**h5.fields, "fw_version": f"**1** {trap_url}/fw"}))
    store = SQLiteStore(path)
    try:
        store.write(recs)
    finally:
        store.close()
    return names


def test_node_text_is_never_markdown_in_appTest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    names = hostile_store(path, "http://127.0.0.1:9")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    at = run_view("alarms")
    at.text_input(key="ack-note").input("checked [x](http://evil)")
    at.button[0].click().run()
    banner = [s.value for s in at.success]
    assert banner and f"`{names[2]}" in banner[0], banner
    at = run_view("fleet")
    md = "\n".join(m.value for m in at.markdown)
    assert f"**`{names[2]}`**" in md, md


class TrapServer:
    """A loopback HTTP server that records every request: the URL a hostile node name points at."""

    def __init__(self) -> None:
        import http.server
        import threading

        hits: list[str] = []

        class Trap(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)  # the kernel picks the port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> TrapServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_node_text_renders_literally_in_chromium(tmp_path: Path) -> None:
    """Real browser: no link, no image, no request to the URL a node put in its name; the text is shown."""
    from tests.support.browser import chrome, require_browser, served_dashboard, wait_for_js, wait_idle
    from vibsentry.dashboard.server import dashboard_env

    require_browser()
    with TrapServer() as trap:
        hits, trap_url = trap.hits, trap.url
        names = hostile_store(tmp_path / "s.sqlite", trap_url)
        env = dashboard_env(store=f"sqlite:{tmp_path / 's.sqlite'}", refresh_s=5.0)
        with served_dashboard(env, tmp_path / "dash.log") as url, chrome() as driver:
            driver.get(f"{url}/?view=fleet")
            wait_idle(driver, need_css='[class*="st-key-tile-5"]')
            # A live fragment may be redrawing a tile at any moment: read (atomically) until all three are there.
            tiles = wait_for_js(
                driver,
                "const t = Array.from(document.querySelectorAll('[class*=\"st-key-tile-\"]')).map(e => ["
                "e.innerText, e.querySelectorAll('a').length, e.querySelectorAll('img').length]);"
                "return t.length === 3 && t.every(x => x[0].includes('last seen')) ? t : null;",
                what="three complete fleet tiles",
            )
            text = "\n".join(t[0] for t in tiles)
            assert names[2] in text and names[5] in text and f"**1** {trap_url}/fw" in text, text
            links = driver.execute_script(
                "return Array.from(document.querySelectorAll('[class*=\"st-key-tile-\"] a')).map(a => a.outerHTML);"
            )
            assert all(t[1] == 0 and t[2] == 0 for t in tiles), links
            assert (
                driver.execute_script(f"return document.querySelectorAll('a[href^=\"{trap_url}\"]').length;")
                == 0
            )
    assert hits == [], hits


@pytest.mark.slow
def test_acknowledged_banner_renders_literally_in_chromium(tmp_path: Path) -> None:
    """Real browser, real click: the 'Acknowledged' banner names the alarm's machine (a link and an image in
    Markdown) as plain text: no <a>, no <img>, no request to either URL."""
    from selenium.webdriver.common.by import By

    from tests.support.browser import (
        chrome,
        click_when_clear,
        require_browser,
        served_dashboard,
        wait_for_js,
        wait_idle,
    )
    from vibsentry.dashboard.server import dashboard_env

    require_browser()
    with TrapServer() as trap:
        names = hostile_store(tmp_path / "s.sqlite", trap.url, "[x]({trap}/login) ![]({trap}/t.png)")
        env = dashboard_env(store=f"sqlite:{tmp_path / 's.sqlite'}", refresh_s=5.0)
        env = {k: v for k, v in env.items() if k not in ("VIBSENTRY_DASHBOARD_USERS_FILE",)}
        env["VIBSENTRY_DASHBOARD_ADDRESS"] = "127.0.0.1"  # loopback without a users file: the local admin
        with served_dashboard(env, tmp_path / "dash.log") as url, chrome() as driver:
            driver.get(f"{url}/?view=alarms")
            wait_idle(driver, need_css=".st-key-ack-note input")
            driver.find_element(By.CSS_SELECTOR, ".st-key-ack-note input").send_keys("bearing checked")
            click_when_clear(driver, '[data-testid="stFormSubmitButton"] button')
            banner = wait_for_js(
                driver,
                "const a = Array.from(document.querySelectorAll('[data-testid=\"stAlert\"]'))"
                ".find(e => e.innerText.includes('Acknowledged:'));"
                "return a ? [a.innerText, a.querySelectorAll('a').length, a.querySelectorAll('img').length] : null;",
                what="the 'Acknowledged:' banner after clicking Acknowledge",
            )
            assert f"{names[2]} (node 2) raised" in banner[0], banner  # node 2's alarm, its name as it is
            assert banner[1] == 0 and banner[2] == 0, banner
            assert (
                driver.execute_script(f"return document.querySelectorAll('a[href^=\"{trap.url}\"]').length;")
                == 0
            )
            assert (
                driver.execute_script(f"return document.querySelectorAll('img[src^=\"{trap.url}\"]').length;")
                == 0
            )
        assert trap.hits == [], trap.hits
    import sqlite3

    audit = sqlite3.connect(tmp_path / "audit.sqlite").execute("SELECT action, outcome FROM audit").fetchall()
    assert ("acknowledge", "ok") in audit, audit


# ------------------------------------------------------------- findings 3 and 7: confined, atomic exports


@pytest.fixture()
def raw_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Node 1 with one good capture (7) and four that must not become recordings."""
    path = tmp_path / "s.sqlite"
    t = time.time_ns() - 30 * SECOND
    x = np.random.default_rng(1).standard_normal(3000)
    bad_nan = x.copy()
    bad_nan[1234] = np.nan
    write_store(
        path,
        [
            *raw_capture(1, 7, t, x),
            *raw_capture(1, 8, t + SECOND, x, n_chunks=[3, 4, 3]),  # chunks disagree on the count
            *raw_capture(1, 9, t + 2 * SECOND, x, scale=0.0),
            *raw_capture(1, 10, t + 3 * SECOND, x, scale=[1.0, float("inf"), 1.0]),
            *raw_capture(1, 11, t + 4 * SECOND, x, scale=float("nan")),
            *raw_capture(1, 12, t + 5 * SECOND, bad_nan),
        ],
    )
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_EXPORT_DIR", str(tmp_path / "exports"))
    return path


def test_export_keeps_only_trustworthy_captures(raw_store: Path, tmp_path: Path) -> None:
    import sqlite3

    from vibsentry.dashboard import queries as q
    from vibsentry.dashboard import retrain_export
    from vibsentry.training.manifest import read_manifest

    scales = dict(
        sqlite3.connect(raw_store).execute("SELECT capture_id, min(scale) FROM raw_chunks GROUP BY 1")
    )
    assert scales[9] == scales[10] == scales[11] == 0.0  # stored as 'no usable scale', never as 1.0
    src = q.SqliteSource(raw_store)
    now = time.time_ns()
    res = retrain_export.export(
        src,
        node=1,
        start_ns=now - 300 * SECOND,
        end_ns=now,
        label="normal",
        out_dir="a",
        root=tmp_path / "exports",
    )
    assert [p.name for p in res.recordings] == ["node1_cap7_normal.wav"]
    assert len(res.refused) == 5, res.refused
    joined = "\n".join(res.refused)
    assert "capture 8 " in joined and "disagree on the chunk count (3, 4)" in joined
    assert all(f"capture {c} " in joined for c in (9, 10, 11)) and "1 sample(s) are NaN" in joined
    assert [Path(r.path).name for r in read_manifest(tmp_path / "exports" / "a" / "manifest.csv")] == [
        "node1_cap7_normal.wav"
    ]


def user_files(tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(("s.sqlite", "audit.sqlite"))}


@pytest.mark.parametrize("folder", ["../escape", "{abs}", "link/inside", "a/../../escape", ""])
def test_export_folder_is_confined(raw_store: Path, tmp_path: Path, folder: str) -> None:
    absolute = tmp_path.parent / f"{tmp_path.name}-abs-escape"  # outside the export dir, private to this test
    folder = folder.format(abs=absolute)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "link").symlink_to(outside, target_is_directory=True)
    before = user_files(tmp_path)
    at = run_view("retrain")
    at.text_input(key="rt-dir").input(folder)
    at.button[0].click().run()
    assert not at.exception
    assert at.error and "must be a folder inside the export directory" in at.error[0].value, at.error
    assert user_files(tmp_path) == before  # nothing created, nothing written, outside or inside
    assert not absolute.exists()


def test_export_never_appends_to_a_foreign_manifest(raw_store: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports" / "theirs"
    folder.mkdir(parents=True)
    (folder / "manifest.csv").write_text("id;owner;notes\n1;plant;do not touch\n")
    before = snapshot(tmp_path / "exports")
    at = run_view("retrain")
    at.text_input(key="rt-dir").input("theirs")
    at.button[0].click().run()
    assert at.error and "another format" in at.error[0].value
    assert snapshot(tmp_path / "exports") == before
    at.text_input(key="rt-dir").input("ours")
    at.button[0].click().run()
    assert not at.error and at.success, [e.value for e in at.error]
    assert sorted(p.name for p in (tmp_path / "exports" / "ours").iterdir()) == [
        "manifest.csv",
        "node1_cap7_normal.wav",
        "node1_scores_normal.csv",
    ]
    assert len(at.warning) == 5  # the refused captures are named


def test_export_on_a_full_disk_leaves_nothing(raw_store: Path, tmp_path: Path) -> None:
    from vibsentry.dashboard import queries as q
    from vibsentry.dashboard import retrain_export
    from vibsentry.errors import StoreError

    with tiny_fs(tmp_path / "exports", "16k") as root:
        now = time.time_ns()
        with pytest.raises(StoreError, match=r"No space left on device.*nothing was written"):
            retrain_export.export(
                q.SqliteSource(raw_store),
                node=1,
                start_ns=now - 300 * SECOND,
                end_ns=now,
                label="normal",
                out_dir="full",
                root=root,
            )
        assert list(root.iterdir()) == []


# ------------------------------------------------------------------------ deliverable 3: access control


@pytest.fixture(scope="module")
def users_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file written once per module by the real CLI: alice (operator), boss (admin)."""
    return users_file(tmp_path_factory.mktemp("users"))


def users_file(tmp_path: Path) -> Path:
    """A users file written by the real CLI: alice (operator), boss (admin); passwords on stdin."""
    import subprocess
    import sys

    path = tmp_path / "users.toml"
    for name, role in (("alice", "operator"), ("boss", "admin")):
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "vibsentry",
                "dashboard",
                "--users",
                str(path),
                "--set-user",
                name,
                "--role",
                role,
            ],
            input=f"{name}-secret-pw\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
    return path


def login(at: AppTest, name: str, password: str) -> AppTest:
    at.sidebar.text_input(key="login-user").input(name)
    at.sidebar.text_input(key="login-password").input(password)
    next(b for b in at.sidebar.button if b.label == "Log in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit_rows(store: Path) -> list[tuple[str, str, str, str]]:
    import sqlite3

    db = sqlite3.connect(store.with_name("audit.sqlite"))
    return [tuple(r) for r in db.execute("SELECT user, role, action, outcome FROM audit ORDER BY ts_ns")]


@pytest.fixture()
def lan_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, users_toml: Path) -> Path:
    """The standard 3-node store with an open alarm, served on the LAN with a users file."""
    from tests.support.dashboard import fill_store

    path = tmp_path / "s.sqlite"
    fill_store(path, t0_ns=time.time_ns() - 125 * SECOND)
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{path}")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_USERS_FILE", str(users_toml))
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ADDRESS", "0.0.0.0")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_EXPORT_DIR", str(tmp_path / "exports"))
    return path


def test_users_file_holds_argon2id_hashes_only(users_toml: Path) -> None:
    import stat

    path = users_toml
    text = path.read_text()
    assert "alice-secret-pw" not in text and text.count("$argon2id$") == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_viewer_cannot_write_operator_can_and_everything_is_audited(lan_store: Path) -> None:
    at = run_view("alarms")
    assert any("needs the operator role" in i.value for i in at.info)
    assert not [t for t in at.text_input if t.key == "ack-note"]  # no acknowledge form for a viewer
    login(at, "alice", "wrong password")
    assert at.sidebar.error and "Wrong user name or password" in at.sidebar.error[0].value
    login(at, "mallory", "alice-secret-pw")
    login(at, "alice", "alice-secret-pw")
    assert any("Signed in as `alice` · role **operator**" in c.value for c in at.sidebar.caption)
    at.text_input(key="ack-note").input("bearing checked")
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert at.success and "Acknowledged" in at.success[0].value
    assert audit_rows(lan_store) == [
        ("alice", "none", "login", "denied"),
        ("mallory", "none", "login", "denied"),
        ("alice", "operator", "login", "ok"),
        ("alice", "operator", "acknowledge", "ok"),
    ]
    at.radio(key="view").set_value("audit").run()
    shown = at.dataframe[0].value
    assert list(shown["user"])[:2] == ["alice", "alice"] and list(shown["action"])[:2] == [
        "acknowledge",
        "login",
    ]


def test_read_only_caps_every_role(lan_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_READ_ONLY", "1")
    at = login(run_view("retrain"), "boss", "boss-secret-pw")
    assert any("role **viewer**" in c.value for c in at.sidebar.caption)
    assert any("Exporting needs the operator role" in i.value for i in at.info)
    assert not at.get("form_submit_button") or all(b.label != "Export" for b in at.button)


def test_anonymous_role_none_shows_only_the_login(lan_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", "none")
    at = run_view("fleet")
    assert [t.value for t in at.title] == ["vibsentry"] and not at.metric and not at.dataframe
    at = login(at, "alice", "alice-secret-pw")
    assert "Fleet overview" in [t.value for t in at.title]


def test_loopback_without_login_is_the_local_admin(lan_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIBSENTRY_DASHBOARD_USERS_FILE")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ADDRESS", "127.0.0.1")
    assert [t for t in run_view("alarms").text_input if t.key == "ack-note"]
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ADDRESS", "0.0.0.0")  # the same page on the LAN: read only
    assert not [t for t in run_view("alarms").text_input if t.key == "ack-note"]


def test_oidc_login_button_and_role_mapping(lan_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What can be tested without an identity provider: the button is offered and claims map to roles."""
    from vibsentry.dashboard.access import AccessConfig

    monkeypatch.setenv("VIBSENTRY_DASHBOARD_OIDC", "default")
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "vibsentry",
        "client_secret": "s",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert "Log in with the plant's identity provider" in [b.label for b in at.sidebar.button]
    cfg = AccessConfig.from_settings(
        {"oidc": "default", "roles": {"ops@plant.example": "operator"}}, address="0.0.0.0"
    )
    assert cfg.from_oidc({"email": "ops@plant.example"}).role == "operator"
    assert cfg.from_oidc({"email": "visitor@plant.example", "sub": "1"}).role == "viewer"
    assert cfg.anonymous() is not None and cfg.anonymous().role == "viewer"
