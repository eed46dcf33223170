"""Every ``vibsentry`` subcommand against bad input (issue K, deliverable 7), table-driven.

For each row: exit code as documented (2: the command line is wrong; 1: a file, a value in it, or the
environment is), exactly one line on stderr that names the problem (no traceback), nothing on stdout, no
file created in the working folder and no input file touched. The rows run through the real entry point
(``vibsentry.cli.main``) in one child process (``tests/support/cli_batch.py``), so the table costs one
interpreter start-up instead of one per row; ``tests/cli/test_cli_hardening.py`` runs single command lines as
separate processes.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.hardening import snapshot

ROOT = Path(__file__).resolve().parents[2]
WAV = ROOT / "sample_data" / "synthetic" / "m1_normal_a.wav"

#: (id, argv with {i} = the input folder, expected exit code, text the one error line must contain)
CASES: list[tuple[str, list[str], int, str]] = [
    # features
    ("features-missing", ["features", "{i}/nope.wav", "-o", "o.npz"], 1, "nope.wav: file not found"),
    ("features-empty", ["features", "{i}/empty.wav", "-o", "o.npz"], 1, "empty.wav: not a readable WAV file"),
    (
        "features-binary",
        ["features", "{i}/binary.wav", "-o", "o.npz"],
        1,
        "binary.wav: not a readable WAV file",
    ),
    (
        "features-truncated",
        ["features", "{i}/trunc.wav", "-o", "o.npz"],
        1,
        "trunc.wav: not a readable WAV file",
    ),
    ("features-cut-fmt", ["features", "{i}/cutfmt.wav", "-o", "o.npz"], 1, "header cut short"),
    ("features-0-channels", ["features", "{i}/zero_ch.wav", "-o", "o.npz"], 1, "declares 0 channels"),
    ("features-binary-npy", ["features", "{i}/binary.npy", "-o", "o.npz"], 1, "binary.npy"),
    ("features-truncated-npy", ["features", "{i}/trunc.npy", "-o", "o.npz"], 1, "trunc.npy"),
    (
        "features-binary-csv",
        ["features", "{i}/binary.csv", "-o", "o.npz", "--sample-rate", "12000"],
        1,
        "binary.csv",
    ),
    (
        "features-empty-csv",
        ["features", "{i}/empty.csv", "-o", "o.npz", "--sample-rate", "12000"],
        1,
        "empty.csv",
    ),
    (
        "features-toml-types",
        ["features", str(WAV), "-o", "o.npz", "--config", "{i}/types_features.toml"],
        1,
        "frame_length",
    ),
    (
        "features-toml-binary",
        ["features", str(WAV), "-o", "o.npz", "--config", "{i}/binary.toml"],
        1,
        "binary.toml",
    ),
    (
        "features-unwritable",
        ["features", str(WAV), "-o", "{i}/afile/o.npz", "-q"],
        1,
        "afile/o.npz: cannot write",
    ),
    (
        "features-rate",
        ["features", "{i}/ok.npy", "-o", "o.npz", "--sample-rate", "-1"],
        2,
        "--sample-rate -1",
    ),
    ("features-scale", ["features", str(WAV), "-o", "o.npz", "--scale", "0"], 2, "--scale 0"),
    (
        "features-mat-segv",
        ["features", "{i}/segv.mat", "-o", "o.npz", "--sample-rate", "12000"],
        1,
        "crashed on this file (signal 11)",
    ),
    # diagnose
    ("diagnose-missing", ["diagnose", "{i}/nope.wav"], 1, "nope.wav"),
    ("diagnose-binary", ["diagnose", "{i}/binary.wav"], 1, "binary.wav"),
    ("diagnose-empty", ["diagnose", "{i}/empty.csv", "--fs", "12000"], 1, "empty.csv"),
    ("diagnose-rpm", ["diagnose", str(WAV), "--rpm", "-5"], 2, "rpm -5.0 is out of range"),
    (
        "diagnose-plot-unwritable",
        ["diagnose", str(WAV), "--rpm", "1797", "--plot", "{i}/afile/p.png"],
        1,
        "afile/p.png",
    ),
    # train
    ("train-missing", ["train", "-m", "{i}/nope.csv", "-o", "b"], 1, "nope.csv"),
    ("train-empty", ["train", "-m", "{i}/empty.csv", "-o", "b"], 1, "empty.csv"),
    ("train-binary", ["train", "-m", "{i}/binary.csv", "-o", "b"], 1, "binary.csv"),
    ("train-header-only", ["train", "-m", "{i}/manifest_header.csv", "-o", "b"], 1, "manifest_header.csv"),
    ("train-missing-recording", ["train", "-m", "{i}/manifest_missing.csv", "-o", "b"], 1, "gone.wav"),
    (
        "train-toml-types",
        [
            "train",
            "-m",
            str(ROOT / "sample_data" / "manifest.csv"),
            "-o",
            "b",
            "--config",
            "{i}/types_train.toml",
        ],
        1,
        "epochs",
    ),
    (
        "train-out-is-data",
        ["train", "-m", str(ROOT / "sample_data" / "manifest.csv"), "-o", "{i}", "--overwrite"],
        1,
        "not a vibsentry bundle",
    ),
    ("train-kind", ["train", "-m", "x.csv", "-o", "b", "--kind", "magic"], 2, "--kind"),
    # evaluate
    (
        "evaluate-missing",
        ["evaluate", "{i}/nobundle", "-m", str(ROOT / "sample_data" / "manifest.csv")],
        1,
        "nobundle",
    ),
    (
        "evaluate-empty-dir",
        ["evaluate", "{i}/bundle_empty", "-m", str(ROOT / "sample_data" / "manifest.csv")],
        1,
        "bundle_empty",
    ),
    (
        "evaluate-binary-json",
        ["evaluate", "{i}/bundle_binary", "-m", str(ROOT / "sample_data" / "manifest.csv")],
        1,
        "bundle.json",
    ),
    # export
    ("export-missing", ["export", "{i}/nope.tflite", "-o", "c"], 1, "nope.tflite"),
    ("export-empty", ["export", "{i}/empty.tflite", "-o", "c"], 1, "empty.tflite"),
    ("export-binary", ["export", "{i}/binary.tflite", "-o", "c"], 1, "binary.tflite"),
    ("export-bundle-binary", ["export", "{i}/bundle_binary", "-o", "c"], 1, "bundle.json"),
    ("export-name", ["export", "{i}/binary.tflite", "-o", "c", "--name", "int"], 2, "--name 'int'"),
    ("export-validate", ["export", "{i}/binary.tflite", "-o", "c", "--validate", "0"], 2, "--validate 0"),
    # keys / sign / verify
    ("keys-no-action", ["keys"], 2, "ACTION"),
    ("keys-out-is-a-file", ["keys", "new", "--out", "{i}/afile"], 1, "afile"),
    ("sign-empty-bundle", ["sign", "{i}/bundle_empty", "--key", "{i}/binary.pem"], 1, "bundle.json: missing"),
    ("sign-binary-bundle", ["sign", "{i}/bundle_binary", "--key", "{i}/nokey.pem"], 1, "bundle.json"),
    ("verify-binary-pub", ["verify", "{i}/bundle_empty", "--pub", "{i}/binary.key"], 1, "binary.key"),
    ("verify-missing-bundle", ["verify", "{i}/nobundle", "--pub", "{i}/pub32.key"], 1, "nobundle"),
    # simulate
    ("simulate-nodes", ["simulate", "--nodes", "0", "--port", "x"], 2, "--nodes"),
    ("simulate-speed", ["simulate", "--speed", "0", "--port", "x"], 2, "--speed"),
    ("simulate-duration", ["simulate", "--duration", "-1", "--port", "x"], 2, "--duration"),
    (
        "simulate-recording",
        ["simulate", "--recording", "{i}/nope.wav", "--port", "x", "--duration", "1"],
        1,
        "nope.wav",
    ),
    (
        "simulate-bundle",
        ["simulate", "--bundle", "{i}/bundle_binary", "--port", "x", "--duration", "1"],
        1,
        "bundle.json",
    ),
    # ingest
    ("ingest-no-port", ["ingest", "--data-dir", "d"], 2, "--port"),
    (
        "ingest-toml-types",
        ["ingest", "--config", "{i}/types_ingest.toml", "--port", "x", "--data-dir", "d"],
        1,
        "baud",
    ),
    (
        "ingest-toml-binary",
        ["ingest", "--config", "{i}/binary.toml", "--port", "x", "--data-dir", "d"],
        1,
        "binary.toml",
    ),
    (
        "ingest-baud",
        ["ingest", "--port", "x", "--baud", "0", "--data-dir", "d"],
        1,
        "baud=0: must be positive",
    ),
    (
        "ingest-hash",
        ["ingest", "--port", "x", "--feature-hash", "zz", "--data-dir", "d"],
        2,
        "--feature-hash",
    ),
    ("ingest-store", ["ingest", "--port", "x", "--store", "mysql:x", "--data-dir", "d"], 2, "--store"),
    (
        "ingest-bundle",
        ["ingest", "--port", "x", "--bundle", "{i}/bundle_binary", "--data-dir", "d"],
        1,
        "bundle.json",
    ),
    # collect
    ("collect-url", ["collect", "--mqtt", "http://broker", "--data-dir", "d"], 2, "--mqtt"),
    (
        "collect-toml-binary",
        ["collect", "--mqtt", "mqtt://127.0.0.1:9", "--config", "{i}/binary.toml", "--data-dir", "d"],
        1,
        "binary.toml",
    ),
    (
        "collect-batch",
        ["collect", "--mqtt", "mqtt://127.0.0.1:9", "--batch-size", "0", "--data-dir", "d"],
        1,
        "batch_size=0: must be positive",
    ),
    # dashboard
    ("dashboard-missing-store", ["dashboard", "--store", "{i}/nope.sqlite"], 1, "nope.sqlite"),
    (
        "dashboard-binary-store",
        ["dashboard", "--store", "{i}/binary.sqlite", "--port", "1"],
        1,
        "binary.sqlite",
    ),
    ("dashboard-port", ["dashboard", "--port", "99999"], 2, "--port 99999"),
    ("dashboard-refresh", ["dashboard", "--store", "{i}/ok.sqlite", "--refresh", "0"], 2, "--refresh"),
    (
        "dashboard-toml-types",
        ["dashboard", "--store", "{i}/ok.sqlite", "--config", "{i}/types_dashboard.toml", "--port", "1"],
        2,
        "offline_after_s",
    ),
    (
        "dashboard-users-binary",
        ["dashboard", "--store", "{i}/ok.sqlite", "--users", "{i}/binary.toml", "--port", "1"],
        1,
        "binary.toml",
    ),
    (
        "dashboard-set-user-short",
        ["dashboard", "--users", "u.toml", "--set-user", "al", "--role", "admin"],
        2,
        "password",
    ),
    # a full disk ({f}: a tmpfs filled to the last byte)
    ("features-full-disk", ["features", str(WAV), "-o", "{f}/o.npz", "-q"], 1, "No space left on device"),
    ("keys-full-disk", ["keys", "new", "--out", "{f}/keys"], 1, "No space left on device"),
    (
        "dashboard-users-full-disk",
        ["dashboard", "--users", "{f}/u.toml", "--set-user", "alice"],
        1,
        "No space left",
    ),
    (
        "export-reserved-name",
        ["export", "{i}/binary.tflite", "-o", "c", "--name", "__x"],
        2,
        "reserved for the C",
    ),
    ("features-scale-nan", ["features", str(WAV), "-o", "o.npz", "--scale", "nan"], 2, "--scale nan"),
    (
        "dashboard-iso-inverted",
        ["dashboard", "--store", "{i}/ok.sqlite", "--config", "{i}/iso_inverted.toml"],
        1,
        "0 < A/B < B/C < C/D",
    ),
    (
        "dashboard-offline-negative",
        ["dashboard", "--store", "{i}/ok.sqlite", "--config", "{i}/offline_negative.toml"],
        2,
        "offline_after_s=-5: must be a positive",
    ),
    (
        "dashboard-anonymous-role",
        ["dashboard", "--store", "{i}/ok.sqlite", "--config", "{i}/anon_root.toml"],
        1,
        "anonymous_role='root'",
    ),
    (
        "dashboard-oidc-no-secrets",
        ["dashboard", "--store", "{i}/ok.sqlite", "--oidc"],
        2,
        "--oidc needs --oidc-secrets",
    ),
    # demo
    ("demo-nodes", ["demo", "--nodes", "1", "--no-dashboard", "--workdir", "w"], 2, "--nodes"),
    ("demo-speed", ["demo", "--speed", "0", "--no-dashboard", "--workdir", "w"], 2, "--speed"),
    ("demo-port", ["demo", "--port", "99999", "--workdir", "w"], 2, "--port"),
]


def make_inputs(d: Path) -> None:
    """The bad (and a few good) input files every row draws from."""
    rng = np.random.default_rng(3)
    junk = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    d.mkdir()
    for name in ("empty.wav", "empty.csv", "empty.tflite", "empty.toml"):
        (d / name).write_bytes(b"")
    for name in ("binary.wav", "binary.npy", "binary.csv", "binary.tflite", "binary.toml", "binary.pem",
                 "binary.key", "binary.sqlite"):  # fmt: skip
        (d / name).write_bytes(junk)
    wav = WAV.read_bytes()
    (d / "trunc.wav").write_bytes(wav[: len(wav) // 3])
    (d / "cutfmt.wav").write_bytes(
        b"RIFF" + struct.pack("<I", 100) + b"WAVE" + b"fmt " + struct.pack("<IHH", 16, 1, 1)
    )
    fmt = struct.pack("<HHIIHH", 1, 0, 12000, 0, 0, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 200) + bytes(200)
    (d / "zero_ch.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    np.save(d / "ok.npy", rng.standard_normal(20000).astype(np.float32))
    (d / "trunc.npy").write_bytes((d / "ok.npy").read_bytes()[:100])
    (d / "types_features.toml").write_text('[features]\nframe_length = "big"\n')
    (d / "types_train.toml").write_text('[train]\nepochs = "ten"\n')
    (d / "types_ingest.toml").write_text('[ingest]\nbaud = "fast"\n')
    (d / "types_dashboard.toml").write_text('[dashboard]\noffline_after_s = "soon"\n')
    (d / "iso_inverted.toml").write_text(
        "[dashboard]\ndefault_group = 'x'\n[dashboard.iso_groups]\nx = [5.0, 3.0, 1.0]\n"
    )
    (d / "offline_negative.toml").write_text("[dashboard]\noffline_after_s = -5\n")
    (d / "anon_root.toml").write_text("[dashboard.auth]\nanonymous_role = 'root'\n")
    (d / "manifest_header.csv").write_text("path,label,fs,channel,group,split,rpm,load,start_s,end_s\n")
    (d / "manifest_missing.csv").write_text("path,label,group,split\ngone.wav,normal,g,train\n")
    (d / "bundle_empty").mkdir()
    (d / "bundle_binary").mkdir()
    (d / "bundle_binary" / "bundle.json").write_bytes(junk)
    (d / "afile").write_text("a file, not a folder\n")
    (d / "pub32.key").write_bytes(junk[:32])
    (d / "segv.mat").write_bytes(
        (ROOT / "tests" / "vectors" / "fuzz" / "recording" / "scipy-loadmat-sigsegv").read_bytes()[1:]
    )
    from tests.support.dashboard import fill_store

    fill_store(d / "ok.sqlite", t0_ns=0, n_nodes=1, seconds=2)


def full_disk(path: Path) -> bool:
    """Mount a 64 KiB tmpfs at ``path`` and fill it; False when this is not possible (not root)."""
    import os

    path.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)]).returncode
    ):
        return False
    try:
        with open(path / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError:
        pass
    return True


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[dict, Path, dict, dict]]]:
    root = tmp_path_factory.mktemp("badinput")
    inputs = root / "inputs"
    make_inputs(inputs)
    before_inputs = snapshot(inputs)
    full = root / "full"
    have_full = full_disk(full)
    cases: list[dict[str, Any]] = []
    for cid, argv, _code, _needle in CASES:
        (root / cid).mkdir()
        if "{f}" in "".join(argv) and not have_full:
            continue
        argv = [a.replace("{i}", str(inputs)).replace("{f}", str(full)) for a in argv]
        stdin = "short\n" if cid == "dashboard-set-user-short" else "long-enough-password\n"
        cases.append({"argv": argv, "cwd": str(root / cid), "stdin": stdin, "id": cid})
    env_child = {k: v for k, v in __import__("os").environ.items() if not k.startswith("VIBSENTRY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.cli_batch"],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env_child,
        timeout=900,
    )
    full_after = sorted(p.name for p in full.iterdir())
    if have_full:
        subprocess.run(["umount", "-l", str(full)], check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert full_after in ([], ["filler"]), full_after  # nothing left half-written on the full disk
    out = json.loads(proc.stdout)
    after_inputs = snapshot(inputs)
    yield {c["id"]: (r, root / c["id"], before_inputs, after_inputs) for c, r in zip(cases, out, strict=True)}


@pytest.mark.parametrize(("cid", "argv", "code", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(results: dict, cid: str, argv: list[str], code: int, needle: str) -> None:
    if cid not in results:
        pytest.skip("a full-disk row needs root to mount a small tmpfs")
    res, workdir, before, after = results[cid]
    lines = res["stderr"].strip().splitlines()
    assert "Traceback" not in res["stderr"], res["stderr"][-2500:]
    assert len(lines) == 1, res["stderr"]
    assert res["rc"] == code, (res["rc"], lines[0])
    assert lines[0].startswith(f"vibsentry {argv[0]}: error: "), lines[0]
    assert needle in lines[0], lines[0]
    assert res["stdout"] == "", res["stdout"]  # no partial output
    assert snapshot(workdir) == {}, snapshot(workdir)  # nothing created where the command ran
    assert after == before  # no input file touched
