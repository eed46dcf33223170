"""``vibsentry diagnose``: what is wrong with the machine, and the evidence (docs/diagnostics.md)."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

HELP = "diagnose a recording: shaft speed, envelope analysis, bearing and shaft faults with evidence"
DESCRIPTION = """\
Diagnose one accelerometer recording (in g) the way a vibration analyst does:

  1. the shaft speed: given with --rpm, or found as the 1x line with the strongest harmonic series inside
     --rpm-range (default 300-3600 rpm); CWRU .mat files carry their speed (X###RPM), used when neither is given;
  2. the envelope band, chosen by spectral kurtosis (fast kurtogram, Antoni 2006/2007), then the squared-
     envelope spectrum of that band;
  3. per bearing defect frequency (BPFO outer race, BPFI inner race, 2xBSF ball, FTF cage, from the bearing
     geometry and the speed) the harmonics found, dB above the local median floor and frequency error, with
     shaft-rate sidebands around BPFI and FTF sidebands around 2xBSF; unbalance, misalignment and looseness
     from the 1x, 2x and harmonic series of the velocity spectrum;
  4. a ranked list of findings with a confidence; 'none' when no pattern is convincing.

Faults: outer_race inner_race ball cage unbalance misalignment looseness none.
Files: .wav, .csv, .npy, CWRU/MFPT .mat, FEMTO-ST snapshots (.csv) -- the loaders of 'vibsentry train'.
Rates: WAV, MFPT and FEMTO files carry theirs; CWRU files named 12k_*/48k_* get 12000/48000 Hz; otherwise
pass --fs. Bearings: 6205-2rs (CWRU drive end, the default), 6203-2rs (CWRU fan end), femto, mfpt, za-2115;
any other with --geometry n,ball_mm,pitch_mm,contact_angle_deg.

examples:
  vibsentry diagnose 12k_Drive_End_OR007@6_0_130.mat
  vibsentry diagnose pump.wav --rpm 2960 --bearing 6203-2rs --plot pump.png
  vibsentry diagnose fan.csv --fs 25600 --channel z --rpm-range 900 1800 --geometry 8,7.94,34.5,0
  vibsentry diagnose motor.npy --fs 12000 --rpm 1797 --json > findings.json

Exit codes: 0 diagnosed (whatever the finding), 1 unreadable file, 2 bad arguments (unknown bearing, bad
--geometry, speed out of range, recording too short for the resolution asked).
"""

_CWRU_RATE = re.compile(r"^(12|48)k_", re.IGNORECASE)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry diagnose``."""
    p.add_argument("recording", metavar="RECORDING", help="recording file (.wav .csv .npy .mat)")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--rpm", type=float, metavar="R", help="shaft speed in rev/min, when known")
    speed.add_argument(
        "--rpm-range", type=float, nargs=2, metavar=("A", "B"), help="search 1x between A and B rev/min"
    )
    brg = p.add_mutually_exclusive_group()
    brg.add_argument("--bearing", metavar="NAME", help="catalogue bearing (default 6205-2rs)")
    brg.add_argument(
        "--geometry", metavar="N,D,PD,ANGLE", help="custom bearing: elements, ball mm, pitch mm, angle deg"
    )
    p.add_argument(
        "--channel",
        metavar="C",
        default="",
        help="channel: index, CSV column, CWRU suffix (DE_time, FE_time)",
    )
    p.add_argument("--fs", type=float, metavar="HZ", help="sample rate, for files that do not carry one")
    p.add_argument(
        "--resolution",
        type=float,
        metavar="HZ",
        help="line spacing needed (default: FTF / 3 at the lowest speed)",
    )
    p.add_argument(
        "--iso-group", default="class_i", metavar="GROUP", help="ISO 10816 group scaling the shaft rules"
    )
    p.add_argument("--json", action="store_true", help="print the diagnosis as JSON (docs/diagnostics.md)")
    p.add_argument("--plot", metavar="OUT.png", help="draw spectrum, kurtogram and envelope spectrum")
    p.add_argument("--all", action="store_true", help="also list the candidates that were not reported")


def _load(args: argparse.Namespace) -> tuple[Any, float, str, float | None]:
    """Samples, rate, channel label and the speed stored in the file (CWRU), via the training loaders."""
    from vibsentry.errors import FileFormatError, UsageError
    from vibsentry.training import manifest

    src = Path(args.recording)
    if not src.is_file():
        raise FileFormatError(src, "file not found")
    ext = src.suffix.lower()
    if ext not in manifest.SUPPORTED_EXTENSIONS:
        raise UsageError(
            f"{src}: unsupported file type {ext!r}; use one of {list(manifest.SUPPORTED_EXTENSIONS)}"
        )
    if args.fs is not None and not (math.isfinite(args.fs) and args.fs > 0):
        raise UsageError(f"--fs {args.fs!r}: must be a positive number of Hz")

    def row(fs: float | None) -> manifest.ManifestRow:
        return manifest.ManifestRow(
            path=str(src), file=src, label="unknown", fs=fs, channel=args.channel, group=str(src), split="",
            rpm=None, load="", start_s=None, end_s=None, line=0, manifest="command line",
        )  # fmt: skip

    fs = args.fs
    if fs is None and ext == ".mat" and _CWRU_RATE.match(src.name):
        fs = float(_CWRU_RATE.match(src.name).group(1)) * 1000.0  # type: ignore[union-attr]
    if fs is None:
        fs = manifest.file_sample_rate(row(None))
        if fs is None:
            raise UsageError(f"{src}: the file carries no sample rate; pass --fs HZ")
    x = manifest.load_signal(row(fs), target_sr=fs, allow_resample=False)
    file_rpm = None
    if ext == ".mat":
        from scipy.io import loadmat

        mat = loadmat(src, squeeze_me=True)
        keys = [k for k in mat if k.endswith("RPM")]
        if len(keys) == 1:
            file_rpm = float(mat[keys[0]])
    label = args.channel or ("DE_time" if ext == ".mat" else "0")
    return x, float(fs), label, file_rpm


def run(args: argparse.Namespace) -> int:
    """Diagnose ``args.recording`` and print the findings."""
    from vibsentry.diagnostics import diagnose, get_bearing, parse_geometry
    from vibsentry.diagnostics.iso10816 import limits_for
    from vibsentry.errors import ConfigError, SignalError, UsageError

    try:
        geometry = parse_geometry(args.geometry) if args.geometry else get_bearing(args.bearing or "6205-2rs")
        limits = limits_for(args.iso_group)
    except ConfigError as exc:
        raise UsageError(
            f"--{'geometry' if args.geometry else 'bearing' if args.bearing else 'iso-group'}: {exc}"
        ) from None
    x, fs, channel, file_rpm = _load(args)
    rpm = args.rpm
    rpm_range = tuple(args.rpm_range) if args.rpm_range else None
    rpm_note = ""
    if rpm is None and rpm_range is None and file_rpm is not None:
        rpm, rpm_note = file_rpm, " (from the file)"
    try:
        d = diagnose(
            x, sample_rate=fs, rpm=rpm, rpm_range=rpm_range, geometry=geometry,  # type: ignore[arg-type]
            resolution_hz=args.resolution, limits=limits,
        )  # fmt: skip
    except (ConfigError, SignalError) as exc:
        raise UsageError(f"{args.recording}: {exc}") from None
    if args.plot:
        from vibsentry.diagnostics.plot import plot_diagnosis

        plot_diagnosis(d, args.plot, title=f"{Path(args.recording).name} ({channel})")
    if args.json:
        out = {"recording": str(args.recording), "channel": channel, **d.to_dict()}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    s = d.speed
    hz = d.defect_hz
    print(f"recording: {args.recording} ({channel}), {fs:g} Hz, {d.n_samples / fs:.2f} s, "
          f"lines every {d.resolution_hz:.3g} Hz")  # fmt: skip
    if s.source == "given":
        print(f"shaft speed: {s.rpm:.1f} rpm ({s.shaft_hz:.2f} Hz), given{rpm_note}")
    else:
        lo, hi = s.search_rpm or (0.0, 0.0)
        print(f"shaft speed: {s.rpm:.1f} rpm ({s.shaft_hz:.2f} Hz), from the spectrum ({lo:g}-{hi:g} rpm), "
              f"confidence {s.confidence:.2f}")  # fmt: skip
    print(f"bearing: {d.geometry.name}: BPFO {hz['bpfo']:.1f} Hz, BPFI {hz['bpfi']:.1f} Hz, "
          f"BSF {hz['bsf']:.1f} Hz, FTF {hz['ftf']:.1f} Hz")  # fmt: skip
    lo, hi = d.band
    print(f"envelope band: {lo:.0f}-{hi:.0f} Hz (kurtogram level {d.kurtogram.best_level:g}, "
          f"spectral kurtosis {d.kurtogram.best_kurtosis:.1f})")  # fmt: skip
    print("findings:")
    for i, f in enumerate(d.findings, 1):
        print(f"  {i}. {f.summary}  [confidence {f.confidence:.2f}]")
    if args.all:
        print("candidates (all evaluated, best first):")
        for f in d.candidates:
            print(f"  - {f.summary}  [confidence {f.confidence:.2f}{'' if f.reported else ', not reported'}]")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
