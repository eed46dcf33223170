"""Diagnosis of stored raw captures for the dashboard's machine detail (docs/diagnostics.md).

A node sends a RAW_CHUNK capture with every alarm (and when the dashboard asks with REQUEST_RAW); the gateway
stores it (``raw_chunks``). This module picks a machine's latest complete capture, runs
:func:`vibsentry.diagnostics.diagnose` on it with the machine's speed and bearing from the dashboard TOML,
and turns the result into the tables and Altair charts the machine detail shows: the spectrum in Hz with
1x/2x/3x cursors, the envelope spectrum with BPFO/BPFI/2xBSF/FTF markers, and the findings table.

Per-machine setup, keyed like ``machine_groups`` (machine name, or ``"node:<id>"``)::

    [dashboard.machines."pump-2"]
    rpm = 1797                 # or rpm_range = [1500, 1900]; neither: 300-3600 rpm is searched
    bearing = "6205-2rs"       # or geometry = "9,7.94,39.04,0"; neither: the CWRU 6205-2RS
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vibsentry.dashboard import queries as q
from vibsentry.diagnostics import BearingGeometry, Diagnosis, diagnose, get_bearing, parse_geometry
from vibsentry.diagnostics.iso10816 import ZoneLimits
from vibsentry.errors import ConfigError, StoreError

__all__ = [
    "MachineSetup",
    "configured_setups",
    "diagnose_capture",
    "envelope_chart",
    "findings_frame",
    "latest_complete_capture",
    "machine_setups",
    "setup_for",
    "spectrum_chart",
    "stored_diagnoses",
    "with_diagnoses",
]

#: Points per chart line: spectra are max-pooled down to this many (peaks survive, the browser stays fast).
MAX_POINTS = 3000


@dataclass(frozen=True)
class MachineSetup:
    """Speed and bearing of one machine (``[dashboard.machines.NAME]``)."""

    rpm: float | None = None
    rpm_range: tuple[float, float] | None = None
    geometry: BearingGeometry = field(default_factory=BearingGeometry)

    @classmethod
    def from_mapping(cls, name: str, table: Any) -> MachineSetup:
        """Validate one TOML table; errors name ``[dashboard.machines.NAME]`` and the key."""
        where = f"[dashboard.machines.{name}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table, got {table!r}")
        extra = set(table) - {"rpm", "rpm_range", "bearing", "geometry"}
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {sorted(extra)}; known: bearing, geometry, rpm, rpm_range"
            )
        if "rpm" in table and "rpm_range" in table:
            raise ConfigError(f"{where}: give rpm or rpm_range, not both")
        if "bearing" in table and "geometry" in table:
            raise ConfigError(f"{where}: give bearing or geometry, not both")
        rpm = table.get("rpm")
        if rpm is not None and not (
            isinstance(rpm, (int, float)) and math.isfinite(rpm) and 1 <= rpm <= 60000
        ):
            raise ConfigError(f"{where}: rpm={rpm!r} must be a number of rev/min in [1, 60000]")
        rng = table.get("rpm_range")
        if rng is not None:
            ok = isinstance(rng, (list, tuple)) and len(rng) == 2
            ok = ok and all(isinstance(v, (int, float)) and 1 <= v <= 60000 for v in rng) and rng[0] < rng[1]
            if not ok:
                raise ConfigError(f"{where}: rpm_range={rng!r} must be [low, high] rev/min with low < high")
        try:
            if "geometry" in table:
                geom = parse_geometry(str(table["geometry"]))
            else:
                geom = get_bearing(str(table.get("bearing", "6205-2rs")))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return cls(
            rpm=None if rpm is None else float(rpm),
            rpm_range=None if rng is None else (float(rng[0]), float(rng[1])),
            geometry=geom,
        )


def machine_setups(section: Mapping[str, Any]) -> dict[str, MachineSetup]:
    """All ``[dashboard.machines.*]`` tables of a ``[dashboard]`` section, validated."""
    tables = section.get("machines", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"[dashboard.machines] must be a table of machines, got {tables!r}")
    return {str(k): MachineSetup.from_mapping(str(k), v) for k, v in tables.items()}


def configured_setups(environ: Mapping[str, str] | None = None) -> dict[str, MachineSetup]:
    """The machine setups of the dashboard's TOML file (``VIBSENTRY_DASHBOARD_CONFIG``), validated."""
    import os

    from vibsentry.config import load_section

    env = os.environ if environ is None else environ
    return machine_setups(
        load_section("dashboard", env.get("VIBSENTRY_DASHBOARD_CONFIG") or None, environ={})
    )


def setup_for(setups: Mapping[str, MachineSetup], machine: str | None, node: int) -> MachineSetup:
    """The setup of a machine by name, then by ``node:<id>``, else the defaults."""
    if machine and machine in setups:
        return setups[machine]
    return setups.get(f"node:{node}", MachineSetup())


def latest_complete_capture(source: q.Source, node: int, start_ns: int, end_ns: int) -> int | None:
    """Id of the newest capture of ``node`` starting in the window whose chunks all arrived, or None."""
    caps = source.raw_captures(node, start_ns, end_ns)
    if caps.empty:
        return None
    done = caps[caps["chunks"] >= caps["n_chunks"].fillna(0)]
    return None if done.empty else int(done.iloc[-1]["capture_id"])


def diagnose_capture(
    source: q.Source, node: int, capture_id: int, setup: MachineSetup, limits: ZoneLimits | None = None
) -> Diagnosis:
    """Diagnose one stored capture (its first channel) with the machine's setup.

    Raises
    ------
    StoreError
        The capture is missing, incomplete, carries no rate or an unusable scale.
    ConfigError, SignalError
        From :func:`~vibsentry.diagnostics.diagnose` (for example a capture too short for the resolution).
    """
    samples, rate, missing = source.raw_capture(node, capture_id)
    if missing:
        raise StoreError(
            f"raw capture {capture_id} of node {node}: {missing} chunk(s) missing, not diagnosed"
        )
    if not rate:
        raise StoreError(f"raw capture {capture_id} of node {node} carries no sample rate")
    return diagnose(
        samples[:, 0], sample_rate=float(rate), rpm=setup.rpm, rpm_range=setup.rpm_range,
        geometry=setup.geometry, limits=limits,
    )  # fmt: skip


#: Columns of :func:`stored_diagnoses`.
DIAGNOSIS_COLUMNS = ("node", "ts_ns", "capture_id", "fault", "confidence", "summary", "error")


def stored_diagnoses(source: q.Source, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
    """Diagnoses the gateway stored (SQLite ``diagnoses`` / InfluxDB ``vib_diagnosis``) in the window.

    Returns an empty frame for a store written before diagnoses existed (or with the sink turned off).
    """
    rows: list[tuple[Any, ...]] = []
    if isinstance(source, q.SqliteSource):
        if not source._query("SELECT name FROM sqlite_master WHERE type='table' AND name='diagnoses'"):
            return pd.DataFrame(columns=list(DIAGNOSIS_COLUMNS))
        where = "ts_ns >= ? AND ts_ns < ?" + ("" if node is None else " AND node = ?")
        params: list[Any] = [int(start_ns), int(end_ns)] + ([] if node is None else [int(node)])
        rows = source._query(
            f"SELECT {', '.join(DIAGNOSIS_COLUMNS)} FROM diagnoses WHERE {where} ORDER BY ts_ns", params
        )
    else:
        from vibsentry.dashboard.store.influx_schema import M_DIAGNOSIS

        cond = f"time >= {int(start_ns)} AND time < {int(end_ns)}" + (
            "" if node is None else f" AND node = '{int(node)}'"
        )
        qry = f"SELECT confidence, summary, error, fault, capture, node FROM {M_DIAGNOSIS} WHERE {cond}"
        for r in source._q(qry):  # type: ignore[attr-defined]
            fault = None if r.get("fault") in (None, "error") else r["fault"]
            rows.append((int(r["node"]), int(r["time"]), int(r["capture"]), fault, r.get("confidence"),
                         r.get("summary"), r.get("error")))  # fmt: skip
    return pd.DataFrame(rows, columns=list(DIAGNOSIS_COLUMNS))


def with_diagnoses(
    alarms: pd.DataFrame, diags: pd.DataFrame, *, within_ns: int = 30_000_000_000
) -> pd.DataFrame:
    """``alarms`` (``queries.alarms`` columns) with a ``diagnosis`` column: the top finding of the capture the
    node sent for that alarm (the first stored diagnosis of the node within ``within_ns`` of the raise), or
    empty when there is none."""
    out = alarms.copy()
    text = []
    for _, a in alarms.iterrows():
        d = diags[
            (diags["node"] == a["node"]) & ((diags["ts_ns"] - int(a["raise_ts_ns"])).abs() <= within_ns)
        ]
        if d.empty:
            text.append("")
            continue
        r = d.iloc[0]
        text.append(
            f"{r['summary']} [{float(r['confidence']):.2f}]"
            if pd.notna(r["fault"])
            else f"not diagnosed: {r['error']}"
        )
    out["diagnosis"] = text
    return out


def findings_frame(d: Diagnosis) -> pd.DataFrame:
    """Every evaluated fault, best first: rank, fault, confidence, reported, finding (the analyst's words)."""
    rows = [
        {"rank": i, "fault": f.fault, "confidence": round(f.confidence, 2), "reported": f.reported,
         "finding": f.summary}
        for i, f in enumerate(d.candidates, 1)
    ]  # fmt: skip
    if d.top.fault == "none":
        rows.insert(0, {"rank": 0, "fault": "none", "confidence": round(d.top.confidence, 2), "reported": True,
                        "finding": d.top.summary})  # fmt: skip
    return pd.DataFrame(rows, columns=["rank", "fault", "confidence", "reported", "finding"])


def _pooled(f: np.ndarray, a: np.ndarray, f_max: float) -> pd.DataFrame:
    keep = f <= f_max
    f, a = f[keep], a[keep]
    step = max(1, math.ceil(f.size / MAX_POINTS))
    n = (f.size // step) * step
    if step > 1 and n:
        idx = np.arange(n).reshape(-1, step)
        best = idx[np.arange(idx.shape[0]), np.argmax(a[:n].reshape(-1, step), axis=1)]
        f, a = f[best], a[best]
    return pd.DataFrame({"frequency_hz": f, "amplitude": a})


def spectrum_chart(d: Diagnosis, *, max_order: float = 12.0) -> Any:
    """Altair chart: amplitude spectrum (g) up to ``max_order`` x shaft, with 1x/2x/3x cursors."""
    import altair as alt

    shaft = d.speed.shaft_hz
    data = _pooled(d.spectrum[0], d.spectrum[1], max_order * shaft)
    line = (
        alt.Chart(data)
        .mark_line(strokeWidth=1, color="#333")
        .encode(
            x=alt.X("frequency_hz:Q", title="frequency (Hz)"),
            y=alt.Y("amplitude:Q", title="amplitude (g)", scale=alt.Scale(type="log")),
        )
    )
    cursors = pd.DataFrame({"frequency_hz": [k * shaft for k in (1, 2, 3)], "line": ["1x", "2x", "3x"]})
    rules = (
        alt.Chart(cursors)
        .mark_rule(color="orange", strokeDash=[4, 3])
        .encode(x="frequency_hz:Q", tooltip=["line:N", alt.Tooltip("frequency_hz:Q", format=".2f")])
    )
    text = (
        alt.Chart(cursors)
        .mark_text(align="left", dx=3, dy=-6, color="orange")
        .encode(x="frequency_hz:Q", y=alt.value(8), text="line:N")
    )
    return alt.layer(line, rules, text).properties(height=220)


_MARKERS = (("bpfo", "BPFO", 1.0), ("bpfi", "BPFI", 1.0), ("bsf", "2xBSF", 2.0), ("ftf", "FTF", 1.0))


def envelope_chart(d: Diagnosis, *, n_harmonics: int = 5) -> Any:
    """Altair chart: squared-envelope spectrum with BPFO/BPFI/2xBSF/FTF markers (``n_harmonics`` each)."""
    import altair as alt

    lines = {label: mult * d.defect_hz[key] for key, label, mult in _MARKERS}
    top = 5.5 * max(lines["BPFI"], lines["2xBSF"])
    data = _pooled(d.envelope[0], d.envelope[1], top)
    line = (
        alt.Chart(data)
        .mark_line(strokeWidth=1, color="#333")
        .encode(
            x=alt.X("frequency_hz:Q", title="frequency (Hz)"),
            y=alt.Y("amplitude:Q", title="squared envelope (g²)"),
        )
    )
    marks = pd.DataFrame(
        [{"frequency_hz": h * f, "line": label, "harmonic": h} for label, f in lines.items()
         for h in range(1, n_harmonics + 1) if h * f <= top]
    )  # fmt: skip
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[2, 2])
        .encode(
            x="frequency_hz:Q",
            color=alt.Color("line:N", title="defect line"),
            tooltip=["line:N", "harmonic:Q", alt.Tooltip("frequency_hz:Q", format=".2f")],
        )
    )
    return alt.layer(line, rules).properties(height=220)


def render(st: Any, source: q.Source, node: int, machine: str | None, window: tuple[int, int],
           setup: MachineSetup, limits: ZoneLimits | None = None) -> None:  # fmt: skip
    """The machine-detail "Diagnosis" section (Streamlit module passed in, so this file imports no UI)."""
    cap = latest_complete_capture(source, node, *window)
    if cap is None:
        st.info("No complete raw capture in this time range (nodes send one with each alarm).")
        return
    try:
        d = _cached(source, node, cap, setup, limits)
    except (ConfigError, StoreError, ValueError) as exc:
        st.warning(f"raw capture {cap} not diagnosed: {exc}")
        return
    s = d.speed
    speed = f"{s.rpm:.0f} rpm ({s.source}" + (
        f", confidence {s.confidence:.2f})" if s.source != "given" else ")"
    )
    st.caption(
        f"raw capture {cap}: {d.n_samples / d.sample_rate:.2f} s at {d.sample_rate:g} Hz, shaft {speed}, "
        f"bearing {d.geometry.name}, envelope band {d.band[0]:.0f}-{d.band[1]:.0f} Hz"
    )
    st.markdown("**" + "; ".join(f.summary for f in d.findings) + "**")
    left, right = st.columns(2)
    with left:
        st.altair_chart(spectrum_chart(d), width="stretch", key=f"diag-spectrum-{node}")
    with right:
        st.altair_chart(envelope_chart(d), width="stretch", key=f"diag-envelope-{node}")
    st.dataframe(findings_frame(d), hide_index=True, width="stretch")


_CACHE: dict[tuple[int, int, int, MachineSetup, ZoneLimits | None], Diagnosis] = {}


def _cached(
    source: q.Source, node: int, cap: int, setup: MachineSetup, limits: ZoneLimits | None
) -> Diagnosis:
    # A capture never changes once complete: diagnose it once per server (bounded: the newest 64 kept).
    key = (id(source), node, cap, setup, limits)
    if key not in _CACHE:
        if len(_CACHE) >= 64:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = diagnose_capture(source, node, cap, setup, limits)
    return _CACHE[key]
