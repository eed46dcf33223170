"""Diagnoses of stored raw captures for the dashboard's machine detail (docs/diagnostics.md).

A node sends a RAW_CHUNK capture with every alarm (and when the dashboard asks with REQUEST_RAW); the gateway
stores it (``raw_chunks``) and its diagnosis sink diagnoses it in the background (``diagnoses`` /
``vib_diagnosis``, ``gateway/diagnoser.py``). The Diagnosis section lists the machine's complete captures with
the gateway's top finding, and shows the chosen one's stored diagnosis: the findings with their evidence, the
speed and bearing the gateway used, the spectrum in Hz with 1x/2x/3x cursors and the envelope spectrum (in the
band the gateway chose) with markers at the stored BPFO/BPFI/2xBSF/FTF. Only a capture with no stored
diagnosis is diagnosed here (:func:`vibsentry.diagnostics.diagnose`, the machine's setup from the dashboard
TOML), and the page says so; one answer per capture, never two that disagree.

Per-machine setup, keyed like ``machine_groups`` (machine name, or ``"node:<id>"``)::

    [dashboard.machines."pump-2"]
    rpm = 1797                 # or rpm_range = [1500, 1900]; neither: 300-3600 rpm is searched
    bearing = "6205-2rs"       # or geometry = "9,7.94,39.04,0"; neither: the CWRU 6205-2RS
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vibsentry.dashboard import queries as q
from vibsentry.dashboard.safe_text import md_literal
from vibsentry.diagnostics import (
    FAULTS,
    BearingGeometry,
    Diagnosis,
    diagnose,
    envelope_spectrum,
    get_bearing,
    parse_geometry,
)
from vibsentry.diagnostics.iso10816 import ZoneLimits
from vibsentry.diagnostics.spectral import amplitude_spectrum
from vibsentry.errors import ConfigError, SignalError, StoreError, VibsentryError

__all__ = [
    "COMPUTED_HERE",
    "CaptureView",
    "MachineSetup",
    "capture_label",
    "capture_list",
    "checked_document",
    "computed_view",
    "configured_setups",
    "diagnose_capture",
    "envelope_chart",
    "findings_frame",
    "latest_complete_capture",
    "lines_frame",
    "machine_setups",
    "render",
    "setup_for",
    "spectrum_chart",
    "stored_diagnoses",
    "stored_view",
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
    x, rate = _samples(source, node, capture_id)
    return diagnose(
        x, sample_rate=rate, rpm=setup.rpm, rpm_range=setup.rpm_range, geometry=setup.geometry, limits=limits
    )


#: Columns of :func:`stored_diagnoses`.
DIAGNOSIS_COLUMNS = q.DIAGNOSIS_COLUMNS


def stored_diagnoses(source: q.Source, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
    """Diagnoses the gateway stored (SQLite ``diagnoses`` / InfluxDB ``vib_diagnosis``) in the window.

    Returns an empty frame for a store written before diagnoses existed (or with the sink turned off).
    """
    return source.diagnoses(start_ns, end_ns, node)


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


#: Captures offered in the section's picker at most (newest first).
MAX_CAPTURES = 50

#: Columns of :func:`capture_list`.
CAPTURE_COLUMNS = ("capture_id", "start_ns", "stored", "fault", "confidence", "error")


def capture_list(
    source: q.Source, node: int, start_ns: int, end_ns: int, *, limit: int = MAX_CAPTURES
) -> pd.DataFrame:
    """The node's complete captures starting in the window, newest first, with what the gateway stored.

    Returns
    -------
    DataFrame
        :data:`CAPTURE_COLUMNS`: ``stored`` False when the gateway has no diagnosis of the capture, ``fault``
        None (and ``error`` set) when it stored one it could not make. Two store queries, no signal read.
    """
    caps = source.raw_captures(node, start_ns, end_ns)
    if caps.empty:
        return pd.DataFrame(columns=list(CAPTURE_COLUMNS))
    caps = caps[caps["chunks"] >= caps["n_chunks"].fillna(0)]
    caps = caps.sort_values("start_ns", ascending=False).head(limit)
    diags = source.diagnoses(start_ns, end_ns, node)
    rows: list[tuple[Any, ...]] = []
    for cap, start in zip(caps["capture_id"], caps["start_ns"], strict=True):
        mine = diags[diags["capture_id"] == cap]
        if mine.empty:
            rows.append((int(cap), int(start), False, None, None, None))
            continue
        d = mine.iloc[int(np.argmin(np.abs(mine["ts_ns"].to_numpy(dtype=np.int64) - int(start))))]
        fault = None if pd.isna(d["fault"]) else str(d["fault"])
        conf = None if fault is None or pd.isna(d["confidence"]) else float(d["confidence"])
        rows.append(
            (int(cap), int(start), True, fault, conf, None if pd.isna(d["error"]) else str(d["error"]))
        )
    return pd.DataFrame(rows, columns=list(CAPTURE_COLUMNS))


def capture_label(row: Mapping[str, Any]) -> str:
    """Picker text of one :func:`capture_list` row: id, start (UTC) and the gateway's top finding.

    Only names from the fixed fault vocabulary are shown, so nothing a store row carries becomes page text.
    """
    when = pd.Timestamp(int(row["start_ns"]), unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
    fault, conf = row["fault"], row["confidence"]  # a frame row: None may read back as NaN
    if not row["stored"]:
        state = "not diagnosed by the gateway"
    elif fault is None or pd.isna(fault):
        state = "the gateway could not diagnose it"
    else:
        name = str(fault).replace("_", " ") if fault in FAULTS else "?"
        state = name if conf is None or pd.isna(conf) else f"{name} {float(conf):.2f}"
    return f"capture {int(row['capture_id'])} · {when} UTC · {state}"


@dataclass(frozen=True)
class CaptureView:
    """One capture as the Diagnosis section shows it.

    Attributes
    ----------
    node, capture_id, ts_ns : int
        The capture and the UTC time of its first chunk (ns).
    origin : str
        ``"gateway"`` (the diagnosis the gateway stored) or ``"dashboard"`` (none stored: computed here).
    doc : dict
        The ``vibsentry diagnose --json`` document (``docs/diagnostics.md``), checked by :func:`checked_document`.
    spectrum : (ndarray, ndarray)
        Frequencies (Hz) and Hann-window amplitude (g) of the capture, shape ``(n_samples // 2 + 1,)`` each.
    envelope : (ndarray, ndarray)
        Frequencies (Hz) and squared-envelope amplitude (g²) in the diagnosis' envelope band.
    """

    node: int
    capture_id: int
    ts_ns: int
    origin: str
    doc: dict[str, Any]
    spectrum: tuple[np.ndarray, np.ndarray]
    envelope: tuple[np.ndarray, np.ndarray]


def _finding(f: Any) -> dict[str, Any]:
    ev = f.get("evidence") or {}
    if not isinstance(ev, Mapping):
        raise TypeError(f"evidence is {type(ev).__name__}, not an object")
    return {"fault": str(f["fault"]), "confidence": float(f["confidence"]), "summary": str(f["summary"]),
            "reported": bool(f.get("reported", False)), "evidence": dict(ev)}  # fmt: skip


def checked_document(text: str | Mapping[str, Any], where: str) -> dict[str, Any]:
    """The diagnosis document (JSON text or dict) with every value the page reads checked and typed.

    Raises
    ------
    StoreError
        One line naming ``where`` and what is missing or malformed (a store written by another version, or
        edited by hand).
    """
    try:
        doc = json.loads(text) if isinstance(text, str) else dict(text)
        sp, b = doc["speed"], doc["bearing"]
        out: dict[str, Any] = {
            "findings": [_finding(f) for f in doc["findings"]],
            "candidates": [_finding(f) for f in doc.get("candidates") or []],
            "speed": {"rpm": float(sp["rpm"]), "shaft_hz": float(sp["shaft_hz"]),
                      "confidence": float(sp.get("confidence") or 0.0), "source": str(sp["source"])},
            "bearing": {"name": str(b["name"]),
                        "frequencies_hz": {k: float(b["frequencies_hz"][k]) for k in ("bpfo", "bpfi", "bsf", "ftf")}},
            "envelope_band_hz": (float(doc["envelope_band_hz"][0]), float(doc["envelope_band_hz"][1])),
            "sample_rate": float(doc["sample_rate"]),
            "duration_s": float(doc["duration_s"]),
        }  # fmt: skip
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise StoreError(
            f"{where}: not a readable diagnosis document ({type(exc).__name__}: {exc})"
        ) from None
    if not out["findings"] or not (out["speed"]["shaft_hz"] > 0 and math.isfinite(out["speed"]["shaft_hz"])):
        raise StoreError(f"{where}: not a readable diagnosis document (no finding or no shaft speed)")
    return out


def _samples(source: q.Source, node: int, capture_id: int) -> tuple[np.ndarray, float]:
    samples, rate, missing = source.raw_capture(node, capture_id)
    if missing:
        raise StoreError(
            f"raw capture {capture_id} of node {node}: {missing} chunk(s) missing, not diagnosed"
        )
    if not rate:
        raise StoreError(f"raw capture {capture_id} of node {node} carries no sample rate")
    return samples[:, 0].astype(np.float64), float(rate)


def stored_view(source: q.Source, node: int, capture_id: int, row: Mapping[str, Any]) -> CaptureView:
    """The gateway's stored diagnosis of a capture (a :meth:`~queries.SqliteSource.diagnosis` row), with the
    capture's spectrum and its envelope spectrum in the band the gateway chose (no kurtogram, no findings
    are recomputed: one FFT each).

    Raises
    ------
    StoreError
        The row holds no document (the gateway could not diagnose the capture: ``row["error"]``), the
        document is unreadable, or the capture's samples are missing.
    """
    where = f"stored diagnosis of raw capture {capture_id} (node {node})"
    if row.get("diagnosis") is None:
        raise StoreError(f"the gateway could not diagnose raw capture {capture_id}: {row.get('error')}")
    doc = checked_document(str(row["diagnosis"]), where)
    x, rate = _samples(source, node, capture_id)
    try:
        spectrum = amplitude_spectrum(x, sample_rate=rate)
        envelope = envelope_spectrum(x, sample_rate=rate, band=doc["envelope_band_hz"])
    except SignalError as exc:
        raise StoreError(f"{where}: {exc}") from None
    return CaptureView(node, capture_id, int(row["ts_ns"]), "gateway", doc, spectrum, envelope)


def computed_view(
    source: q.Source, node: int, capture_id: int, ts_ns: int, setup: MachineSetup, limits: ZoneLimits | None
) -> CaptureView:
    """A capture the gateway did not diagnose, diagnosed here with the dashboard's setup for the machine."""
    d = diagnose_capture(source, node, capture_id, setup, limits)
    doc = checked_document(d.to_dict(), f"raw capture {capture_id} (node {node})")
    return CaptureView(node, capture_id, ts_ns, "dashboard", doc, d.spectrum, d.envelope)


def _flat(evidence: Mapping[str, Any]) -> str:
    # The scalar numbers behind a finding; the per-line lists go to lines_frame.
    return ", ".join(
        f"{k}={v}" for k, v in evidence.items() if isinstance(v, (int, float, str, bool)) and k != "spectrum"
    )


def findings_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Every evaluated fault of a checked document, best first: rank, fault, confidence, reported, finding
    (the analyst's words) and evidence (its scalar numbers, ``key=value``)."""
    rows = [
        {"rank": i, "fault": f["fault"], "confidence": round(f["confidence"], 2), "reported": f["reported"],
         "finding": f["summary"], "evidence": _flat(f["evidence"])}
        for i, f in enumerate(doc["candidates"], 1)
    ]  # fmt: skip
    top = doc["findings"][0]
    if top["fault"] == "none" or not rows:
        rows.insert(0, {"rank": 0, "fault": top["fault"], "confidence": round(top["confidence"], 2),
                        "reported": True, "finding": top["summary"], "evidence": _flat(top["evidence"])})  # fmt: skip
    return pd.DataFrame(rows, columns=["rank", "fault", "confidence", "reported", "finding", "evidence"])


def lines_frame(doc: Mapping[str, Any]) -> tuple[str, pd.DataFrame]:
    """The lines behind the top finding (the strongest candidate when nothing is reported): its fault and one
    row per harmonic (bearing faults: expected/measured Hz, error, dB above floor, found) or shaft order."""
    top = doc["findings"][0]
    f = doc["candidates"][0] if top["fault"] == "none" and doc["candidates"] else top
    rows = f["evidence"].get("harmonics") or f["evidence"].get("lines") or []
    rows = [r for r in rows if isinstance(r, Mapping)]
    return f["fault"], pd.DataFrame(rows)


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


def spectrum_chart(
    spectrum: tuple[np.ndarray, np.ndarray], shaft_hz: float, *, max_order: float = 12.0
) -> Any:
    """Altair chart: amplitude spectrum (Hz, g) up to ``max_order`` x ``shaft_hz``, with 1x/2x/3x cursors."""
    import altair as alt

    data = _pooled(spectrum[0], spectrum[1], max_order * shaft_hz)
    line = (
        alt.Chart(data)
        .mark_line(strokeWidth=1, color="#333")
        .encode(
            x=alt.X("frequency_hz:Q", title="frequency (Hz)"),
            y=alt.Y("amplitude:Q", title="amplitude (g)", scale=alt.Scale(type="log")),
        )
    )
    cursors = pd.DataFrame({"frequency_hz": [k * shaft_hz for k in (1, 2, 3)], "line": ["1x", "2x", "3x"]})
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


def envelope_chart(
    envelope: tuple[np.ndarray, np.ndarray], defect_hz: Mapping[str, float], *, n_harmonics: int = 5
) -> Any:
    """Altair chart: squared-envelope spectrum (Hz, g²) with BPFO/BPFI/2xBSF/FTF markers, ``n_harmonics``
    each, at the defect frequencies ``defect_hz`` (keys ``bpfo``, ``bpfi``, ``bsf``, ``ftf``; Hz)."""
    import altair as alt

    lines = {label: mult * float(defect_hz[key]) for key, label, mult in _MARKERS}
    top = 5.5 * max(lines["BPFI"], lines["2xBSF"])
    data = _pooled(envelope[0], envelope[1], top)
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


#: Shown when a capture has no stored diagnosis and the page diagnoses it itself.
COMPUTED_HERE = "not diagnosed by the gateway: computed here"


def render(st: Any, source: q.Source, node: int, machine: str | None, window: tuple[int, int],
           setup: MachineSetup, limits: ZoneLimits | None = None) -> None:  # fmt: skip
    """The machine-detail "Diagnosis" section (Streamlit module passed in, so this file imports no UI).

    Shows the diagnosis the gateway stored for the chosen capture (newest by default); only a capture the
    gateway has not diagnosed is diagnosed here, with the dashboard's setup, and the section says so.
    """
    caps = capture_list(source, node, *window)
    if caps.empty:
        st.info("No complete raw capture in this time range (nodes send one with each alarm).")
        return
    rows = {int(r["capture_id"]): r for r in caps.to_dict("records")}
    cap = st.selectbox(
        "Raw capture", list(rows), format_func=lambda c: capture_label(rows[c]), key=f"diag-capture-{node}"
    )
    if cap is None or int(cap) not in rows:
        return
    row = rows[int(cap)]
    try:
        stored = source.diagnosis(node, int(cap), int(row["start_ns"]))
        if stored is not None and stored.get("diagnosis") is None:
            st.warning(
                f"The gateway could not diagnose raw capture {int(cap)}: {md_literal(stored.get('error'))}"
            )
            return
        view = _cached(source, node, int(cap), int(row["start_ns"]), stored, setup, limits)
    except (VibsentryError, ValueError) as exc:
        st.warning(f"Raw capture {int(cap)} not diagnosed: {md_literal(exc)}")
        return
    _show(st, view, setup)


def _show(st: Any, view: CaptureView, setup: MachineSetup) -> None:
    doc = view.doc
    sp, b = doc["speed"], doc["bearing"]
    # The speed's origin is one of two words (diagnostics/speed.py); anything else a store holds is not shown.
    how = sp["source"] if sp["source"] in ("given", "spectrum") else "?"
    speed = f"{sp['rpm']:.0f} rpm ({how}" + (
        f", confidence {sp['confidence']:.2f})" if sp["source"] != "given" else ")"
    )
    when = pd.Timestamp(view.ts_ns, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
    who = "diagnosed by the gateway" if view.origin == "gateway" else COMPUTED_HERE
    lo, hi = doc["envelope_band_hz"]
    if view.origin != "gateway":
        st.info(
            f"Raw capture {view.capture_id}: {COMPUTED_HERE} with this dashboard's setup for the machine."
        )
    st.caption(
        f"raw capture {view.capture_id}, {when} UTC: {doc['duration_s']:.2f} s at {doc['sample_rate']:g} Hz, "
        f"{who}; shaft {speed}, bearing {md_literal(b['name'])}, envelope band {lo:.0f}-{hi:.0f} Hz"
    )
    if view.origin == "gateway":
        differs = _setup_differences(setup, sp, b["name"])
        if differs:
            st.caption(
                f"This dashboard's setup for the machine ({', '.join(differs)}) differs from the one the gateway "
                "used; the gateway's diagnosis is shown."
            )
    st.markdown("**Findings:** " + "; ".join(md_literal(f["summary"]) for f in doc["findings"]))
    left, right = st.columns(2)
    with left:
        st.altair_chart(spectrum_chart(view.spectrum, sp["shaft_hz"]), width="stretch",
                        key=f"diag-spectrum-{view.node}")  # fmt: skip
    with right:
        st.altair_chart(envelope_chart(view.envelope, b["frequencies_hz"]), width="stretch",
                        key=f"diag-envelope-{view.node}")  # fmt: skip
    st.dataframe(findings_frame(doc), hide_index=True, width="stretch")
    fault, lines = lines_frame(doc)
    if not lines.empty:
        st.caption(f"Lines behind {md_literal(fault)} (dB above the local floor):")
        st.dataframe(lines, hide_index=True, width="stretch")


def _setup_differences(setup: MachineSetup, speed: Mapping[str, Any], bearing: str) -> list[str]:
    out = []
    given = speed["source"] == "given"
    if setup.rpm is not None and not (given and abs(speed["rpm"] - setup.rpm) < 0.5):
        out.append(f"{setup.rpm:g} rpm")
    elif setup.rpm is None and given:
        out.append(
            "speed searched"
            if setup.rpm_range is None
            else f"{setup.rpm_range[0]:g}-{setup.rpm_range[1]:g} rpm"
        )
    if setup.geometry.name != bearing:
        out.append(f"bearing {md_literal(setup.geometry.name)}")
    return out


_CACHE: dict[tuple[Any, ...], CaptureView] = {}


def _cached(source: q.Source, node: int, cap: int, ts_ns: int, stored: Mapping[str, Any] | None,
            setup: MachineSetup, limits: ZoneLimits | None) -> CaptureView:  # fmt: skip
    # A complete capture and its stored diagnosis never change: one view per server (the newest 64 kept).
    # A diagnosis the gateway stores after the page computed one has another key, so it replaces it.
    if stored is None:
        key: tuple[Any, ...] = (source.describe(), node, cap, ts_ns, "dashboard", setup, limits)
    else:
        key = (source.describe(), node, cap, ts_ns, "gateway", stored.get("ts_ns"), stored.get("diagnosis"))
    if key not in _CACHE:
        if len(_CACHE) >= 64:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (
            computed_view(source, node, cap, ts_ns, setup, limits)
            if stored is None
            else stored_view(source, node, cap, stored)
        )
    return _CACHE[key]
