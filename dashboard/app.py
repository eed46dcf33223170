"""vibsentry dashboard (Streamlit). Layout only: every query and computation is in ``queries.py``.

Run it with ``vibsentry dashboard`` (or ``streamlit run dashboard/app.py`` with ``VIBSENTRY_DASHBOARD_*``
variables, see ``ui.py``). Views are chosen in the sidebar and addressable by URL (``?view=machine&node=3&range=3600``).
Live panels are ``st.fragment(run_every=...)``: only they rerun, so the page does not flicker.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import altair as alt
import pandas as pd
import streamlit as st

from vibsentry.dashboard import diagnosis as dg
from vibsentry.dashboard import queries as q
from vibsentry.dashboard import ui
from vibsentry.dashboard.access import Identity, verify_password
from vibsentry.dashboard.safe_text import md_literal
from vibsentry.diagnostics.iso10816 import ZONE_MEANING
from vibsentry.errors import VibsentryError

SECOND = 1_000_000_000
T = TypeVar("T")
RANGES: dict[str, int] = {
    "Last 5 minutes": 300,
    "Last 15 minutes": 900,
    "Last hour": 3600,
    "Last 6 hours": 6 * 3600,
    "Last 24 hours": 86400,
    "Last 7 days": 7 * 86400,
    "Custom (UTC)": 0,
}
VIEWS: dict[str, str] = {
    "fleet": "Fleet overview",
    "machine": "Machine detail",
    "alarms": "Alarm log",
    "retrain": "Data for retraining",
    "models": "Models",
    "audit": "Audit log",
}
STATUS_BADGE = {
    "ok": ":green-background[OK]",
    "warning": ":orange-background[WARNING]",
    "alarm": ":red-background[ALARM]",
    "offline": ":gray-background[OFFLINE]",
}

st.set_page_config(page_title="vibsentry", page_icon=":material/vibration:", layout="wide")

SETTINGS = ui.settings()
SPEC = f"{SETTINGS['store']}|{SETTINGS['influx_url']}|{SETTINGS['influx_db']}"
REFRESH = max(0.5, float(SETTINGS["refresh_s"]))

STEP = "Cannot open the data store"
try:
    SOURCE = ui.current_source()
    CONFIG = ui.dashboard_config()
    STEP = "Access control is misconfigured"
    ACCESS = ui.access_config()
    AUDIT = ui.current_audit_log()
except VibsentryError as exc:
    st.title("vibsentry")
    st.error(f"{STEP}: {md_literal(exc)}")
    st.stop()


# --------------------------------------------------------------------------------------------- who is this


def current_identity() -> Identity | None:
    """This browser session's identity: a password login, an OIDC login, or the anonymous role."""
    me = st.session_state.get("vs-identity")
    if isinstance(me, Identity):
        return me
    if ACCESS.oidc and st.user.get("is_logged_in", False):  # absent outside a served app (AppTest)
        return ACCESS.from_oidc(st.user.to_dict())
    return ACCESS.anonymous()


def audit(action: str, target: str, outcome: str, detail: str = "", who: Identity | None = None) -> None:
    """One row in the audit log for the current user."""
    w = who or ME or Identity("anonymous", "none", "anonymous")
    AUDIT.record(user=w.user, role=w.role, action=action, target=target, outcome=outcome, detail=detail)


def login_box() -> None:
    """Sidebar: who is signed in (and log out), or the ways to log in."""
    if ME is not None and ME.via != "anonymous":
        st.caption(f"Signed in as {md_literal(ME.user)} · role **{ME.role}**")
        if st.button("Log out", key="logout"):
            audit("logout", ME.user, "ok")
            if ME.via == "oidc":
                st.logout()
            st.session_state.pop("vs-identity", None)
            st.rerun()
        return
    if ACCESS.users_file:
        with st.form("login", clear_on_submit=True):
            name = st.text_input("User", key="login-user")
            password = st.text_input("Password", type="password", key="login-password")
            if st.form_submit_button("Log in"):
                who = verify_password(ACCESS, name, password)
                if who is None:
                    audit(
                        "login",
                        name,
                        "denied",
                        "wrong user name or password",
                        who=Identity(name, "none", "password"),
                    )
                    st.error("Wrong user name or password.")
                else:
                    audit("login", name, "ok", who=who)
                    st.session_state["vs-identity"] = who
                    st.rerun()
    if ACCESS.oidc:
        if st.button("Log in with the plant's identity provider", key="oidc-login"):
            st.login(None if ACCESS.oidc == "default" else ACCESS.oidc)
    if ME is not None:
        st.caption(
            f"Not signed in: **{ME.role}** access" + (" (read-only dashboard)" if ACCESS.read_only else "")
        )


ME = current_identity()
with st.sidebar:
    login_box()
if ME is None:
    st.title("vibsentry")
    st.info("Log in (in the sidebar) to see the dashboard.")
    st.stop()
# st.stop() above ends the run; the fallback (least privilege) only tells the type checker so.
USER: Identity = ME if ME is not None else Identity("anonymous", "viewer", "anonymous")


def now_window(seconds: int) -> tuple[int, int]:
    """``(start_ns, end_ns)`` of the last ``seconds``, end rounded up to a whole second (cache-friendly)."""
    end = math.ceil(time.time_ns() / SECOND) * SECOND
    return end - seconds * SECOND, end


def fmt(v: float | None, spec: str = ".2f") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def csv_button(df: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        "Download CSV", df.to_csv(index=False).encode("utf-8"), file_name=name, mime="text/csv", key=key
    )


# --------------------------------------------------------------------------------------------- sidebar

params = st.query_params
view_keys = list(VIEWS)
initial_view = params.get("view", "fleet")
with st.sidebar:
    st.header("vibsentry")
    view = st.radio(
        "View",
        view_keys,
        index=view_keys.index(initial_view) if initial_view in view_keys else 0,
        format_func=VIEWS.__getitem__,
        key="view",
    )
    by_seconds = {str(v): i for i, v in enumerate(RANGES.values())}
    range_label = st.selectbox(
        "Time range", list(RANGES), index=by_seconds.get(params.get("range", ""), 1), key="range"
    )
    CUSTOM: tuple[int, int] | None = None
    if RANGES[range_label] == 0:
        today = dt.datetime.now(dt.timezone.utc).date()
        days = st.date_input("Days (UTC)", value=(today, today), key="range-days")
        t_from = st.time_input("From (UTC)", value=dt.time(0, 0), key="range-from")
        t_to = st.time_input("To (UTC)", value=dt.time(23, 59), key="range-to")
        if isinstance(days, tuple) and len(days) == 2:
            lo = dt.datetime.combine(days[0], t_from, tzinfo=dt.timezone.utc)
            hi = dt.datetime.combine(days[1], t_to, tzinfo=dt.timezone.utc)
            if hi > lo:
                CUSTOM = (int(lo.timestamp()) * SECOND, int(hi.timestamp()) * SECOND)
            else:
                st.warning("The end of the range must be after its start.")
    live = st.toggle(
        "Live refresh",
        value=CUSTOM is None,
        key="live",
        disabled=RANGES[range_label] == 0,
        help=f"Refresh live panels every {REFRESH:g} s",
    )
    st.caption(f"Source: {md_literal(SOURCE.describe())}")
params["view"] = view
RANGE_S = RANGES[range_label] or 900
params["range"] = str(RANGES[range_label])
RUN_EVERY: float | None = REFRESH if live and RANGES[range_label] else None


def window() -> tuple[int, int]:
    """The time range chosen in the sidebar, ``(start_ns, end_ns)``."""
    return CUSTOM if CUSTOM is not None else now_window(RANGE_S)


# --------------------------------------------------------------------------------------------- fleet


def tile(row: pd.Series) -> None:
    with st.container(border=True, key=f"tile-{int(row['node'])}"):
        # Machine name, firmware version and hashes come from the node: escaped, never Markdown.
        st.markdown(
            f"**{md_literal(row['machine'])}** · node {int(row['node'])} {STATUS_BADGE[row['status']]}"
        )
        c1, c2 = st.columns(2)
        c1.metric(
            "Score",
            fmt(row["last_score"]),
            f"thr {fmt(row['threshold'])}",
            delta_color="off",
            delta_arrow="off",
        )
        zone = row["iso_zone"] or "—"
        c2.metric(
            "Velocity mm/s", fmt(row["velocity_rms"]), f"ISO {zone}", delta_color="off", delta_arrow="off"
        )
        age = row["age_s"]
        st.caption(
            f"last seen {fmt(age, '.0f')} s ago · fw {md_literal(row['fw_version'] or '—')} · "
            f"model {md_literal((row['model_hash'] or '—')[:8])}"
        )
        if row["hash_mismatch"]:
            st.markdown(":red[**feature_hash mismatch**: node features differ from the deployed bundle]")


#: Tiles per page. A tile is a dozen Streamlit elements; 100 of them redrawn every second would keep a core
#: busy, so large fleets page their tiles (attention first) and list every machine in the table.
TILES_PER_PAGE = 24


@st.fragment(run_every=RUN_EVERY)
def fleet_panel(page: int) -> None:
    df = ui.fleet(SPEC, ui.now_bucket())
    counts = q.fleet_summary(df)
    cols = st.columns(len(counts))
    for col, (status, n) in zip(cols, counts.items(), strict=True):
        col.metric(status.capitalize(), n)
    if df.empty:
        st.info("No node has reported yet. Start `vibsentry ingest` (or `vibsentry demo`).")
        return
    origin = q.fleet_by_origin(df)
    if df["site"].notna().any():  # an MQTT fleet (vibsentry collect): the plant by site and gateway
        with st.expander("By site and gateway", expanded=len(origin) > 1):
            st.dataframe(origin, hide_index=True, width="stretch")
    first = (page - 1) * TILES_PER_PAGE
    shown = df.iloc[first : first + TILES_PER_PAGE]
    if len(df) > TILES_PER_PAGE:
        st.caption(
            f"Tiles {first + 1}-{first + len(shown)} of {len(df)} (alarms, warnings and offline nodes first); "
            "every machine is in the fleet table."
        )
    per_row = 4
    for i in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, (_, row) in zip(cols, shown.iloc[i : i + per_row].iterrows(), strict=False):
            with col:
                tile(row)
    with st.expander("Fleet table", expanded=len(df) > TILES_PER_PAGE):
        st.dataframe(df, hide_index=True, width="stretch")
        csv_button(df, "fleet.csv", "fleet-csv")


def fleet_view() -> None:
    st.title("Fleet overview")
    st.caption(
        "Status: ALARM = the node's alarm rule is raised; WARNING = last score above threshold or velocity in "
        "ISO 10816 zone C/D; OFFLINE = not heard from for "
        f"{CONFIG.offline_after_s:g} s. Zones: " + "; ".join(f"{z}: {m}" for z, m in ZONE_MEANING.items())
    )
    n = len(ui.fleet(SPEC, ui.now_bucket()))
    pages = max(1, -(-n // TILES_PER_PAGE))
    page = st.number_input("Tile page", 1, pages, 1, key="tile-page") if pages > 1 else 1
    fleet_panel(int(page))


# --------------------------------------------------------------------------------------------- machine


def score_chart(df: pd.DataFrame, periods: pd.DataFrame) -> alt.LayerChart:
    base = alt.Chart(df).encode(x=alt.X("time:T", title=None))
    layers: list[alt.Chart] = []
    if not periods.empty:
        layers.append(
            alt.Chart(periods).mark_rect(color="#d62728", opacity=0.15).encode(x="start:T", x2="end:T")
        )
    layers.append(base.mark_line(color="#1f77b4").encode(y=alt.Y("score:Q", title="anomaly score")))
    layers.append(base.mark_line(color="#1f77b4", opacity=0.3, strokeDash=[2, 2]).encode(y="score_max:Q"))
    layers.append(base.mark_line(color="#d62728", strokeDash=[6, 3]).encode(y="threshold:Q"))
    return alt.LayerChart(layer=layers).properties(height=260)


def velocity_chart(df: pd.DataFrame, me: pd.DataFrame) -> alt.LayerChart:
    """Velocity trend with the machine group's ISO 10816 zone boundaries as labelled rules."""
    layers: list[alt.Chart] = [
        alt.Chart(df)
        .mark_line()
        .encode(x=alt.X("time:T", title=None), y=alt.Y("velocity_rms:Q", title="mm/s"))
    ]
    if not me.empty:
        lim = CONFIG.groups()[me.iloc[0]["iso_group"]]
        top = max(float(df["velocity_rms"].max() or 0.0), lim.ab) * 1.1
        rules = pd.DataFrame(
            [
                {"v": v, "label": f"{z} ({v:g})"}
                for v, z in zip(lim.boundaries, ("A/B", "B/C", "C/D"), strict=True)
                if v <= top
            ]
        )
        if not rules.empty:
            rule = alt.Chart(rules).encode(y="v:Q")
            layers.append(rule.mark_rule(color="#ff7f0e", strokeDash=[4, 3]))
            layers.append(
                rule.mark_text(align="right", dx=-2, dy=-6, color="#ff7f0e").encode(
                    text="label:N", x=alt.value("width")
                )
            )
    return alt.LayerChart(layer=layers).properties(height=200)


ALARM_TABLE: dict[str, Any] = {
    "raised": st.column_config.DatetimeColumn("raised (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "cleared": st.column_config.DatetimeColumn("cleared (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "duration_s": st.column_config.NumberColumn("duration", format="%.0f s"),
    "score": st.column_config.NumberColumn(format="%.2f"),
    "threshold": st.column_config.NumberColumn(format="%.2f"),
    "ack_note": "note",
}


@st.fragment(run_every=RUN_EVERY)
def machine_panel(node: int) -> None:
    start, end = window()
    df = ui.trend(SPEC, node, start, end, q.MAX_POINTS)
    al = ui.alarms(SPEC, start, end, node)
    periods = q.alarm_periods(al, start, end)
    fleet_df = ui.fleet(SPEC, ui.now_bucket())
    me = fleet_df[fleet_df["node"] == node]
    if not me.empty:
        r = me.iloc[0]
        c = st.columns(5)
        c[0].markdown(f"Status<br>{STATUS_BADGE[r['status']]}", unsafe_allow_html=True)
        c[1].metric(
            "Last score",
            fmt(r["last_score"]),
            f"threshold {fmt(r['threshold'])}",
            delta_color="off",
            delta_arrow="off",
        )
        c[2].metric(
            "Velocity RMS",
            f"{fmt(r['velocity_rms'])} mm/s",
            f"ISO zone {r['iso_zone'] or '—'}",
            delta_color="off",
            delta_arrow="off",
        )
        c[3].metric("Alarms in range", len(al))
        c[4].metric("Last seen", f"{fmt(r['age_s'], '.0f')} s ago")
        if r["hash_mismatch"]:
            st.error(
                "feature_hash mismatch: this node computes features differently from the deployed bundle."
            )
    st.subheader("Anomaly score")
    if df.empty:
        st.info("No scores in this time range.")
    else:
        st.altair_chart(score_chart(df, periods), width="stretch", key="score-chart")
        st.caption("Line: mean score per bucket; dotted: max; dashed red: threshold; shaded: alarm periods.")
        left, right = st.columns(2)
        with left:
            st.subheader("Velocity RMS (mm/s)")
            st.altair_chart(velocity_chart(df, me), width="stretch", key="velocity-chart")
        with right:
            st.subheader("Acceleration RMS (g)")
            st.line_chart(df, x="time", y="rms", height=200)
        csv_button(df, f"node{node}_trend.csv", f"trend-csv-{node}")
    feats = ui.latest_features(SPEC, node, ui.now_bucket())
    st.subheader("Latest spectrum (FEATURES)")
    if feats is None:
        st.info("This node has sent no FEATURES message yet.")
    else:
        ts, kind, vals = feats
        table = q.feature_table(vals, kind=kind)
        bands = table[table["group"] != "stats"]
        st.caption(
            f"{md_literal(kind)}, {pd.Timestamp(ts, unit='ns', tz='UTC'):%Y-%m-%d %H:%M:%S} UTC, {vals.size} values"
        )
        if bands["centre_hz"].notna().all():  # log-mel / linear bands: an axis in Hz, not band numbers
            st.altair_chart(
                alt.Chart(bands).mark_bar().encode(
                    x=alt.X("centre_hz:Q", title="band centre (Hz)"), y=alt.Y("value:Q", title=kind),
                    tooltip=["feature", alt.Tooltip("centre_hz:Q", format=".0f"), "value"],
                ).properties(height=220),
                width="stretch", key="features-chart",
            )  # fmt: skip
        else:
            st.bar_chart(bands, x="feature", y="value", height=220)
    st.subheader("Diagnosis (raw captures)")
    machine = None if me.empty or pd.isna(me.iloc[0]["machine"]) else str(me.iloc[0]["machine"])
    dg.render(
        st,
        ui.current_source(),
        node,
        machine,
        (start, end),
        dg.setup_for(dg.configured_setups(), machine, node),
    )
    st.subheader("Alarm history")
    al = dg.with_diagnoses(al, dg.stored_diagnoses(ui.current_source(), start, end, node))
    st.dataframe(
        al.drop(columns=["raise_ts_ns"]), hide_index=True, width="stretch", column_config=ALARM_TABLE
    )


def machine_view() -> None:
    st.title("Machine detail")
    nodes = ui.fleet(SPEC, ui.now_bucket())
    if nodes.empty:
        st.info("No node has reported yet.")
        return
    nodes = nodes.sort_values("node")
    ids = [int(n) for n in nodes["node"]]
    labels = {int(r.node): f"{r.machine} (node {int(r.node)})" for r in nodes.itertuples()}
    want = params.get("node")
    index = ids.index(int(want)) if want is not None and want.isdigit() and int(want) in ids else 0
    node = st.selectbox("Machine", ids, index=index, format_func=labels.__getitem__, key="node")
    params["node"] = str(node)
    machine_panel(int(node))
    raw_request_section(int(node))


def raw_request_section(node: int) -> None:
    """Operators ask the node for a raw capture (REQUEST_RAW through the gateway); outside the live fragment so
    the answer stays on the page."""
    from vibsentry.dashboard import raw_request as rr

    if not USER.allows("request_raw"):
        return
    st.subheader("Request raw capture")
    rate = rr.node_rate_hz(SOURCE, node)
    with st.form(f"raw-{node}"):
        seconds = st.number_input(
            "Length (s)", value=1.0, step=0.5, format="%.2f", key=f"raw-seconds-{node}",
            help=f"{rr.MIN_SECONDS:g} to {rr.MAX_SECONDS:g} s at {rate.rate_hz:g} Hz ({rate.note()})",
        )  # fmt: skip
        st.caption(f"Samples are counted at {rate.rate_hz:g} Hz: {rate.note()}.")
        go = st.form_submit_button("Request raw capture", key=f"raw-go-{node}")
    if go:
        target = f"node {node}"
        try:
            n = rr.samples_for(float(seconds), rate.rate_hz)
            reply = rr.request_raw(SETTINGS["gateway_dir"], node, n)
        except VibsentryError as exc:
            audit("request_raw", target, "refused", str(exc))
            st.session_state[f"raw-reply-{node}"] = ("error", str(exc))
        else:
            detail = f"capture {reply.capture_id}, {n} samples ({float(seconds):g} s): {reply.text}"
            audit("request_raw", target, "ok" if reply.ok else "refused", detail)
            st.session_state[f"raw-reply-{node}"] = ("ok" if reply.ok else "nack", detail)
    kind, line = st.session_state.get(f"raw-reply-{node}", ("", ""))
    if kind == "ok":
        st.success(
            f"{md_literal(line)}. The capture appears in the Diagnosis picker above once the gateway has stored "
            "and diagnosed it."
        )
    elif kind:
        st.error(md_literal(line))


# --------------------------------------------------------------------------------------------- alarms


@st.fragment(run_every=RUN_EVERY)
def alarm_table() -> None:
    start, end = window()
    al = ui.alarms(SPEC, start, end, None)
    al = dg.with_diagnoses(
        al, dg.stored_diagnoses(ui.current_source(), start, end)
    )  # the gateway's diagnoses
    st.metric("Alarm episodes in range", len(al))
    st.dataframe(
        al.drop(columns=["raise_ts_ns"]), hide_index=True, width="stretch", column_config=ALARM_TABLE
    )
    csv_button(al, "alarms.csv", "alarms-csv")


def alarm_view() -> None:
    st.title("Alarm log")
    st.caption("Each row is one episode: a raise and the clear that ended it (open episodes run to now).")
    alarm_table()
    start, end = window()
    al = SOURCE.alarms(start, end)
    pending = al[~al["acknowledged"]]
    st.subheader("Acknowledge")
    if not USER.allows("acknowledge"):
        st.info(f"Acknowledging alarms needs the operator role; you have **{USER.role}** access.")
        return
    if pending.empty:
        st.info("Nothing to acknowledge in this time range.")
        return
    choices = {
        f"{r.machine} (node {r.node}) raised {r.raised:%Y-%m-%d %H:%M:%S}": (int(r.node), int(r.raise_ts_ns))
        for r in pending.itertuples()
    }
    with st.form("ack", clear_on_submit=True):
        which = st.selectbox("Alarm", list(choices), key="ack-which")
        note = st.text_input("Note", placeholder="e.g. bearing inspected, work order 1234", key="ack-note")
        if st.form_submit_button("Acknowledge"):
            if not note.strip():
                st.warning("Write a note: what was found or done.")
            else:
                node, ts = choices[which]
                try:
                    SOURCE.acknowledge(node, ts, note)
                except VibsentryError as exc:
                    audit("acknowledge", which, "failed", f"{note} ({exc})")
                    st.error(md_literal(exc))
                else:
                    audit("acknowledge", which, "ok", note)
                    st.cache_data.clear()
                    st.success(f"Acknowledged: {md_literal(which)}")


# --------------------------------------------------------------------------------------------- retrain


def retrain_view() -> None:
    st.title("Data for retraining")
    st.caption(
        "Pick a machine and a time window, label it, and export its raw captures as WAV recordings with "
        "manifest lines in the training format (docs/datasets.md), plus its scores as CSV. Then retrain from "
        "a bundle in the background, compare old and new, and (admins) approve the new model for deployment."
    )
    export_section()
    retrain_section()


def export_section() -> None:
    from vibsentry.dashboard import retrain_export

    nodes = ui.fleet(SPEC, ui.now_bucket()).sort_values("node")
    if nodes.empty:
        st.info("No node has reported yet.")
        return
    labels = {int(r.node): f"{r.machine} (node {int(r.node)})" for r in nodes.itertuples()}
    node = st.selectbox("Machine", list(labels), format_func=labels.__getitem__, key="rt-node")
    start, end = window()
    caps = SOURCE.raw_captures(int(node), start, end)
    scores = SOURCE.scores(int(node), start, end)
    c1, c2 = st.columns(2)
    c1.metric("Raw captures in range", len(caps))
    c2.metric("Scores in range", len(scores))
    if not USER.allows("export"):
        st.info(f"Exporting needs the operator role; you have **{USER.role}** access.")
        return
    with st.form("export"):
        label = st.text_input("Label", value="normal", help="normal, or a fault class such as outer_race")
        out_dir = st.text_input(
            "Export folder",
            value="exports",
            key="rt-dir",
            help=f"A folder inside the export directory {SETTINGS['export_dir']} (set by --export-dir)",
        )
        go = st.form_submit_button("Export")
    if go:
        try:
            result = retrain_export.export(
                SOURCE,
                node=int(node),
                start_ns=start,
                end_ns=end,
                label=label,
                out_dir=out_dir,
                root=SETTINGS["export_dir"],
            )
        except VibsentryError as exc:
            audit("export", f"node {int(node)} -> {out_dir}", "refused", str(exc))
            st.error(md_literal(exc))
        else:
            audit(
                "export",
                f"node {int(node)} -> {out_dir}",
                "ok",
                f"{len(result.recordings)} recording(s), label {label}, {len(result.refused)} capture(s) left out",
            )
            st.success(
                f"Wrote {len(result.recordings)} recording(s) and {md_literal(result.scores_csv)} "
                f"to {md_literal(result.out_dir)}"
            )
            if result.manifest is not None:
                st.session_state["rt-manifest"] = str(result.manifest)  # offered first for the retrain
            st.code(
                "\n".join(result.manifest_lines) or "(no raw captures: no manifest lines)", language="text"
            )
            for reason in result.refused:
                st.warning(f"Left out: {md_literal(reason)}")


# --------------------------------------------------------------------------------------------- retrain job


def retrain_section() -> None:
    """Start a background retrain, follow it, compare OLD and NEW, approve (dashboard/retrain_job.py)."""
    from vibsentry.dashboard import retrain_job as rj

    st.header("Retrain")
    jobs_dir = SETTINGS["retrain_dir"]
    job = rj.latest(jobs_dir)  # one job at a time for the whole server: every session follows the same one
    s = rj.status(job) if job else None
    if s is not None and s.running:
        retrain_progress(str(job))
        return
    if not USER.allows("retrain"):
        st.info(f"Starting a retrain needs the operator role; you have **{USER.role}** access.")
    else:
        retrain_start_form(jobs_dir)
    if s is None:
        return
    spec = rj.job_spec(s.job_dir)
    st.caption(
        f"Last job {md_literal(s.job_id)}, started by {md_literal(spec.get('user', '?'))}: "
        f"{md_literal(spec.get('manifest', '?'))} on top of {md_literal(spec.get('old_bundle', '?'))}"
    )
    if s.state == "cancelled":  # someone chose this: not an error
        st.info(f"Retrain cancelled ({md_literal(s.message)}): nothing was kept; start a new one above.")
        return
    if s.state == "failed":
        st.error(f"Retrain failed: {md_literal(s.message)}")
        return
    comp = rj.comparison(s.job_dir)
    if comp is None:
        st.error(f"Retrain job {md_literal(s.job_id)} has no comparison: {md_literal(s.message)}")
        return
    retrain_comparison(comp)
    retrain_approve(s.job_dir, comp)


def retrain_start_form(jobs_dir: str) -> None:
    from vibsentry.dashboard import retrain_job as rj

    manifests = [str(p) for p in rj.find_manifests(SETTINGS["export_dir"])]
    just = st.session_state.get("rt-manifest")
    if just in manifests:  # the export just made comes first
        manifests.remove(just)
        manifests.insert(0, just)
    bundles = [str(p) for p in rj.find_bundles(SETTINGS["bundles_dir"])]
    if not manifests:
        st.info(
            f"No exported manifest.csv in {md_literal(SETTINGS['export_dir'])} yet: export data above first."
        )
        return
    if not bundles:
        st.info(
            f"No bundle in {md_literal(SETTINGS['bundles_dir'])} to retrain from (the deployed model's bundle "
            "goes there)."
        )
        return
    with st.form("retrain"):
        manifest = st.selectbox("New recordings (manifest)", manifests, key="rt-manifest-pick")
        old = st.selectbox(
            "Retrain from (OLD model)", bundles, format_func=lambda p: p.rsplit("/", 1)[-1], key="rt-old"
        )
        st.caption(
            "Training settings: "
            + (md_literal(SETTINGS["retrain_config"]) if SETTINGS["retrain_config"] else "training defaults")
            + " (retrain_config in the dashboard's TOML)."
        )
        go = st.form_submit_button("Start retraining", key="rt-start")
    if go:
        job = audited(
            "retrain",
            f"{manifest} from {old}",
            lambda: rj.start(
                jobs_dir, manifest=manifest, old_bundle=old, config=SETTINGS["retrain_config"], user=USER.user
            ),
            lambda j: f"job {j.name}",
        )
        if job is not None:
            st.rerun()


def audited(action: str, target: str, do: Callable[[], T], ok: Callable[[T], str]) -> T | None:
    """Run a write action and audit its outcome; a refusal is one error line on the page (and None)."""
    try:
        result = do()
    except VibsentryError as exc:
        audit(action, target, "refused", str(exc))
        st.error(md_literal(exc))
        return None
    audit(action, target, "ok", ok(result))
    return result


@st.fragment(run_every=1.0)
def retrain_progress(job: str) -> None:
    """The running job's progress bar: only this fragment reruns each second, the page stays usable."""
    from vibsentry.dashboard import retrain_job as rj

    s = rj.status(job)
    if not s.running:
        st.rerun()  # the whole page: comparison and approval replace the progress bar
    st.progress(s.fraction, text=rj.describe_status(s))  # our own stage text, no user input
    st.caption(
        f"Job {md_literal(s.job_id)} runs in its own process (log: {md_literal(s.job_dir / rj.LOG_FILE)})."
    )
    if USER.allows("retrain") and st.button("Cancel retraining", key="rt-cancel"):
        if rj.cancel(job):
            audit("retrain", s.job_id, "ok", "cancelled")
        else:  # it finished between the last redraw and the click: its result stays
            audit(
                "retrain", s.job_id, "refused", f"cancel: the job had already ended ({rj.status(job).state})"
            )
        st.rerun()


def _fmt_metric(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def retrain_comparison(comp: dict[str, Any]) -> None:
    """OLD and NEW side by side on the same held-out windows, and the no-regression gate's verdict."""
    old, new, gate = comp["old"], comp["new"], comp["gate"]
    st.subheader("Old versus new")
    st.caption(
        f"Both models scored on the same {comp['n_test_windows']} held-out windows (the retrain's test split; "
        "INT8 models, as the nodes run them)."
    )
    if gate["passed"]:
        st.success(
            f"No-regression gate: PASSED. NEW is not worse than OLD by more than {gate['margin']:g} on "
            f"{', '.join(gate['old'])}."
        )
    else:
        from vibsentry.dashboard.retrain_job import gate_reason

        st.error(f"No-regression gate: REFUSED. {gate_reason(gate)}; it cannot be approved.")
    names = list(dict.fromkeys([*old["metrics"], *new["metrics"]]))
    table = pd.DataFrame(
        {
            "metric": names,
            "OLD": [_fmt_metric(old["metrics"].get(k)) for k in names],
            "NEW": [_fmt_metric(new["metrics"].get(k)) for k in names],
            "change": [
                _fmt_metric(new["metrics"][k] - old["metrics"][k])
                if isinstance(old["metrics"].get(k), float) and isinstance(new["metrics"].get(k), float)
                else "—"
                for k in names
            ],
        }
    )
    st.dataframe(table, hide_index=True, key="rt-metrics")
    cols = st.columns(2)
    for col, side, which in zip(cols, (old, new), ("OLD", "NEW"), strict=True):
        with col:
            st.markdown(f"**{which}**: {md_literal(side['name'])}")
            st.caption(
                f"{md_literal(side.get('architecture') or side['kind'])} · created "
                f"{md_literal(side.get('created_at') or '?')} · threshold {_fmt_metric(side.get('threshold'))}"
            )
            hist = side.get("histogram")
            if hist:
                st.altair_chart(score_histogram(hist), width="stretch", key=f"rt-hist-{which}")
            cm = side["confusion"]
            st.caption("Confusion matrix (rows: true; columns: predicted)")
            st.dataframe(
                pd.DataFrame(cm["matrix"], index=cm["rows"], columns=cm["columns"]), key=f"rt-cm-{which}"
            )


def score_histogram(hist: dict[str, Any]) -> alt.LayerChart:
    """Normal and fault windows' scores (log10 bins), with the model's threshold as a dashed rule."""
    edges = hist["log10_edges"]
    rows = [
        {"lo": 10 ** edges[i], "hi": 10 ** edges[i + 1], "windows": n, "label": label}
        for label in ("normal", "fault")
        for i, n in enumerate(hist[label])
    ]
    bars = (
        alt.Chart(pd.DataFrame(rows))
        .mark_rect(opacity=0.6)
        .encode(
            x=alt.X("lo:Q", scale=alt.Scale(type="log"), title="score"),
            x2="hi:Q",
            y=alt.Y("windows:Q", stack=None),
            color=alt.Color(
                "label:N", scale=alt.Scale(domain=["normal", "fault"], range=["#1f77b4", "#d62728"])
            ),
        )
    )
    layers: list[Any] = [bars]
    if hist.get("threshold"):
        layers.append(
            alt.Chart(pd.DataFrame({"t": [hist["threshold"]]}))
            .mark_rule(color="black", strokeDash=[6, 3])
            .encode(x="t:Q")
        )
    return alt.LayerChart(layer=layers).properties(height=200)


def retrain_approve(job: Any, comp: dict[str, Any]) -> None:
    """Approve (admin): sign NEW with the server's key; it becomes a candidate in the Models view."""
    from vibsentry.dashboard import retrain_job as rj

    st.subheader("Approve")
    done = rj.approval(job)
    if done is not None:
        st.success(
            f"Approved by {md_literal(done['user'])} at {md_literal(done['time'])}: signed as "
            f"{md_literal(done['bundle'])} (counter {done['counter']}, key {md_literal(done['key_id'])}); "
            "deploy it from the Models view."
        )
        return
    if not comp["gate"]["passed"]:
        # Shown disabled rather than hidden, so an admin sees why there is nothing to click.
        st.button("Approve and sign", key="rt-approve", disabled=True)
        st.info(
            "Approval refused: the no-regression gate refused this model, so it is not signed. Retrain with "
            "more or better data, or accept it deliberately with `vibsentry train --from OLD --force`."
        )
        return
    if not USER.allows("approve"):
        st.info(f"Approving a model needs the admin role; you have **{USER.role}** access.")
        return
    spec = rj.job_spec(job)
    default = f"{str(spec.get('old_bundle', 'model')).rsplit('/', 1)[-1]}-{job.name.split('-', 1)[0]}"
    with st.form("approve"):
        name = st.text_input("Bundle name", value=default[:64], key="rt-name")
        st.caption(
            "Signs with the private key configured on the server (signing_key in the dashboard's TOML) and "
            f"puts the signed bundle in {md_literal(SETTINGS['bundles_dir'])}."
        )
        go = st.form_submit_button("Approve and sign", key="rt-approve")
    if go:
        rec = audited(
            "approve",
            f"job {job.name} as {name}",
            lambda: rj.approve(
                job,
                bundles_dir=SETTINGS["bundles_dir"],
                name=name,
                key_path=SETTINGS["signing_key"],
                public_key=SETTINGS["deploy_pub"],
                user=USER.user,
                role=USER.role,
            ),
            lambda r: f"counter {r['counter']}, key {r['key_id']}",
        )
        if rec is not None:
            st.rerun()


# --------------------------------------------------------------------------------------------- models


def models_view() -> None:
    from vibsentry.dashboard import models as mv
    from vibsentry.dashboard.queries import SqliteSource

    st.title("Models")
    st.caption(
        "The model each node runs (from its MODEL_STATUS messages): slot, trial state, signed counter and hash. "
        "Admins deploy a signed bundle to selected nodes through the gateway (docs/deploy.md)."
    )
    if not isinstance(SOURCE, SqliteSource):
        st.info("The Models view reads the gateway's SQLite store; this dashboard shows another source.")
        return
    table = mv.model_table(SOURCE.path)
    if table.empty:
        st.info("No node has reported a model status yet (nodes with model updates send one after HELLO).")
    else:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "updated": st.column_config.DatetimeColumn("updated (UTC)", format="YYYY-MM-DD HH:mm:ss")
            },
        )
    if not USER.allows("deploy"):
        st.info(f"Deploying models needs the admin role; you have **{USER.role}** access.")
        return
    pub = SETTINGS["deploy_pub"]
    if not pub:
        st.info("Set VIBSENTRY_DASHBOARD_DEPLOY_PUB to the plant's public.key to deploy from here.")
        return
    found = [c for c in mv.candidates(SETTINGS["bundles_dir"], pub) if c.ok]
    if not found:
        st.info(f"No bundle signed with that key in {md_literal(SETTINGS['bundles_dir'])}.")
        return
    with st.form("deploy"):
        pick = st.selectbox(
            "Signed bundle",
            range(len(found)),
            format_func=lambda i: f"{found[i].path.name}: {found[i].detail}",
            key="deploy-bundle",
        )
        nodes = st.multiselect(
            "Nodes", sorted(table["node"].tolist()) if not table.empty else [], key="deploy-nodes"
        )
        go = st.form_submit_button("Deploy", key="deploy-go")
    if go and nodes:
        cand = found[int(pick)]
        bar = st.progress(0.0, text="verifying")

        def step(node: int, done: int, total: int) -> None:
            bar.progress(done / total, text=f"node {node}: {done} of {total} bytes")

        try:
            reports = mv.deploy(
                SETTINGS["gateway_dir"], cand, [int(n) for n in nodes], public_key=pub, progress=step
            )
        except VibsentryError as exc:
            audit("deploy", f"{cand.path.name} -> nodes {nodes}", "refused", str(exc))
            st.error(md_literal(exc))
            return
        for r in reports:
            outcome = "ok" if r.ok else ("refused" if r.stage == "refused" else "failed")
            audit(
                "deploy", f"{cand.path.name} -> node {r.node}", outcome, f"{r.stage} {r.reason or ''}".strip()
            )
        bar.progress(1.0, text="done")
        st.dataframe(pd.DataFrame([r.to_dict() for r in reports]), hide_index=True)


# --------------------------------------------------------------------------------------------- audit


def audit_view() -> None:
    st.title("Audit log")
    st.caption(
        "Every write action (acknowledgements, exports) and every login, newest first: who, when (UTC), what, "
        f"and the outcome. Stored in {md_literal(AUDIT.path)}."
    )
    st.dataframe(
        AUDIT.recent(),
        hide_index=True,
        width="stretch",
        column_config={"time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss")},
    )


{
    "fleet": fleet_view,
    "machine": machine_view,
    "alarms": alarm_view,
    "retrain": retrain_view,
    "models": models_view,
    "audit": audit_view,
}[view]()
