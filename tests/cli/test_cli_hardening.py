"""CLI hardening (issue K): the real ``vibsentry`` in a subprocess refuses what would destroy or leak, in one
line, and leaves the user's files alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hardening import snapshot, tiny_fs

ROOT = Path(__file__).resolve().parents[2]


def vibsentry(
    *args: str, cwd: Path | None = None, stdin: str = "", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; returns the completed process (text)."""
    return subprocess.run(
        [sys.executable, "-m", "vibsentry", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        timeout=timeout,
    )


def one_line_error(res: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Assert exit ``code`` with exactly one stderr line (no traceback) containing every needle."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code and len(lines) == 1, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and all(n in lines[0] for n in needles), lines
    return lines[0]


def fake_bundle(path: Path) -> Path:
    """A previous bundle as ``save_bundle`` writes it (content irrelevant to the replace rules)."""
    from vibsentry.runtime.bundle import FORMAT, save_bundle

    return save_bundle(path, meta={"format": FORMAT, "format_version": 1}, files={"report.md": b"old\n"})


# --------------------------------------------------------------------------- finding 4: train --overwrite


def test_train_overwrite_never_replaces_a_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "precious.csv").write_text("mine\n")
    before = snapshot(tmp_path)
    res = vibsentry("train", "-m", str(ROOT / "sample_data" / "manifest.csv"), "-o", str(data), "--overwrite")
    one_line_error(res, 1, "not a vibsentry bundle", "--overwrite only replaces a previous bundle")
    assert snapshot(tmp_path) == before


def test_train_overwrite_refuses_a_bundle_holding_its_inputs(tmp_path: Path) -> None:
    old = fake_bundle(tmp_path / "b")
    manifest = old / "new.csv"
    manifest.write_text((ROOT / "sample_data" / "manifest.csv").read_text())
    before = snapshot(tmp_path)
    for out in (str(old), f"{old}/../b"):
        res = vibsentry("train", "-m", str(manifest), "-o", out, "--overwrite")
        one_line_error(res, 1, "contains", "new.csv", "would delete it")
    res = vibsentry("train", "-m", str(manifest), "-o", str(tmp_path / "b"))
    one_line_error(res, 1, "already exists")
    assert snapshot(tmp_path) == before


def test_save_bundle_over_a_dotdot_path_replaces_in_place(tmp_path: Path) -> None:
    from vibsentry.runtime.bundle import FORMAT, save_bundle

    fake_bundle(tmp_path / "D")
    save_bundle(
        tmp_path / "D" / ".." / "D",
        meta={"format": FORMAT, "format_version": 1},
        files={"report.md": b"new\n"},
        overwrite=True,
    )
    assert (tmp_path / "D" / "report.md").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]  # no .D.old-PID, no temp folder


# ------------------------------------------------------------------------ finding 9: one line, not a trace


def wav_cut_in_fmt(path: Path) -> Path:
    import struct

    path.write_bytes(b"RIFF" + struct.pack("<I", 100) + b"WAVE" + b"fmt " + struct.pack("<IHH", 16, 1, 1))
    return path


def wav_zero_channels(path: Path) -> Path:
    import struct

    fmt = struct.pack("<HHIIHH", 1, 0, 12000, 0, 0, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 200) + bytes(200)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


SAMPLE_WAV = ROOT / "sample_data" / "synthetic" / "m1_normal_a.wav"


@pytest.mark.parametrize(
    ("make", "needle"),
    [(wav_cut_in_fmt, "header cut short"), (wav_zero_channels, "declares 0 channels")],
)
def test_features_on_a_broken_wav_header(tmp_path: Path, make: object, needle: str) -> None:
    bad = make(tmp_path / "bad.wav")  # type: ignore[operator]
    res = vibsentry("features", str(bad), "--out", str(tmp_path / "o.npz"))
    one_line_error(res, 1, "bad.wav", "not a readable WAV file", needle)
    assert not (tmp_path / "o.npz").exists()


def test_features_to_an_unwritable_path_and_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    res = vibsentry("features", str(SAMPLE_WAV), "--out", str(tmp_path / "afile" / "o.npz"), "-q")
    one_line_error(res, 1, "afile/o.npz", "cannot write", "is a file, not a folder")
    with tiny_fs(tmp_path / "full", "16k") as full:
        res = vibsentry("features", str(SAMPLE_WAV), "--out", str(full / "o.npz"), "-q")
        one_line_error(res, 1, "o.npz", "No space left on device", "nothing was written")
        assert list(full.iterdir()) == []


def test_features_reads_mat_files_with_the_training_loaders(tmp_path: Path) -> None:
    import numpy as np
    import scipy.io

    x = np.random.default_rng(0).standard_normal(24000)
    scipy.io.savemat(tmp_path / "cwru.mat", {"X097_DE_time": x[:, None], "X097_FE_time": x[:, None] / 2})
    np.save(tmp_path / "same.npy", x.astype(np.float32))
    for src in ("cwru.mat", "same.npy"):
        res = vibsentry(
            "features",
            str(tmp_path / src),
            "--sample-rate",
            "12000",
            "--out",
            str(tmp_path / f"{src}.npz"),
            "-q",
        )
        assert res.returncode == 0, res.stderr
    a, b = (np.load(tmp_path / f"{s}.npz")["features"] for s in ("cwru.mat", "same.npy"))
    assert a.shape == (23, 40) and np.array_equal(a, b)
    one_line_error(
        vibsentry("features", str(tmp_path / "cwru.mat"), "--out", str(tmp_path / "m.npz")),
        2,
        "pass --sample-rate",
    )


def test_dashboard_refuses_a_newer_schema_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from tests.support.dashboard import fill_store, run_view

    db = tmp_path / "s.sqlite"
    fill_store(db, t0_ns=0, n_nodes=1, seconds=2)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    res = vibsentry("dashboard", "--store", str(db), "--port", "1")
    one_line_error(res, 1, "schema_version 99 is newer than this dashboard reads")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{db}")
    at = run_view("fleet")
    assert at.error and "schema_version 99 is newer" in at.error[0].value and not at.metric


def test_a_bundle_on_a_full_disk_is_one_error_and_leaves_nothing(tmp_path: Path) -> None:
    """What 'vibsentry train' does last (save_bundle), on a real filesystem too small for the bundle."""
    from vibsentry.errors import BundleError
    from vibsentry.runtime.bundle import FORMAT, save_bundle

    with tiny_fs(tmp_path / "full", "64k") as full:
        with pytest.raises(
            BundleError, match=r"full/b: cannot write the bundle \(No space left on device\); nothing"
        ):
            save_bundle(full / "b", meta={"format": FORMAT}, files={"model.tflite": bytes(200_000)})
        assert list(full.iterdir()) == []


# --------------------------------------------- finding 4: train --overwrite leaves the old bundle on failure


def only_the_old_bundle(tmp_path: Path, before: dict[str, str]) -> None:
    """The folder is exactly as before: the old bundle byte for byte, no temp or ``.old`` sibling."""
    after = snapshot(tmp_path)
    assert after == before, {
        "appeared": sorted(set(after) - set(before)),
        "vanished": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(after) & set(before) if after[k] != before[k]),
    }


def test_train_overwrite_that_fails_keeps_the_old_bundle(tmp_path: Path) -> None:
    """Training fails after the features are computed (an anomaly model needs normal recordings)."""
    import csv

    work = tmp_path / "work"
    work.mkdir()
    fake_bundle(work / "b")
    src = ROOT / "sample_data" / "manifest.csv"
    lines = [ln for ln in src.read_text().splitlines() if not ln.startswith("#")]
    faults = [r for r in csv.DictReader(lines) if r["label"] != "normal"]
    assert faults
    manifest = tmp_path / "faults.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(faults[0]))
        w.writeheader()
        for r in faults:
            w.writerow({**r, "path": str(src.parent / r["path"])})
    before = snapshot(work)
    res = vibsentry("train", "-m", str(manifest), "-o", str(work / "b"), "--overwrite", "-q", timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    only_the_old_bundle(work, before)


@pytest.mark.slow
@pytest.mark.needs_tf
def test_train_overwrite_interrupted_by_ctrl_c_keeps_the_old_bundle(tmp_path: Path) -> None:
    """A real SIGINT while the model is fitting: exit 130, the old bundle as it was, nothing else left.

    stderr is a real pty (80 columns: tqdm draws nothing on a 0-column terminal) so the progress bar is drawn;
    its 'training:' bar is the sign that fitting has begun. Epochs and patience are so high that fitting
    cannot end before the signal lands.
    """
    import fcntl
    import os
    import pty
    import re
    import select
    import signal
    import struct
    import termios
    import time

    pytest.importorskip("tensorflow", reason="training needs the 'train' extra")
    work = tmp_path / "work"
    work.mkdir()
    fake_bundle(work / "b")
    before = snapshot(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBSENTRY_")}
    env.update(VIBSENTRY_TRAIN_EPOCHS="1000000", VIBSENTRY_TRAIN_PATIENCE="1000000")
    env.update(VIBSENTRY_TRAIN_MODEL="autoencoder", VIBSENTRY_TRAIN_BASELINES="false")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    manifest = ROOT / "sample_data" / "manifest.csv"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vibsentry",
            "train",
            "-m",
            str(manifest),
            "-o",
            str(work / "b"),
            "--overwrite",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""

    def read(wait_s: float) -> bool:
        """Append what the child wrote; False once the pty is closed (the child exited)."""
        nonlocal seen
        if select.select([master], [], [], wait_s)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:  # EIO: every writer closed the pty
                return False
        return True

    try:
        deadline = time.monotonic() + 300
        while not re.search(rb"training: +\d+%", seen):  # tqdm's bar: 'training:   0%|   | 0/1000000'
            assert time.monotonic() < deadline, f"no 'training' progress bar within 300 s: {seen[-2000:]!r}"
            assert proc.poll() is None, (
                f"train exited with {proc.returncode} before fitting: {seen[-2000:]!r}"
            )
            read(1.0)
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 120
        while read(1.0) and proc.poll() is None:  # drain: the child must never block on a full terminal
            assert time.monotonic() < deadline, f"train still running 120 s after SIGINT: {seen[-2000:]!r}"
        proc.wait(120)
        while select.select([master], [], [], 0)[0] and read(0):  # what it wrote last (the one line)
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)
        os.close(master)
    assert proc.returncode == 130, (proc.returncode, seen[-2000:])
    assert b"vibsentry train: interrupted" in seen and b"Traceback" not in seen, seen[-2000:]
    only_the_old_bundle(work, before)


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError])
def test_save_bundle_interrupted_after_the_old_one_was_moved_aside_puts_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: type[BaseException]
) -> None:
    """The one moment the old bundle is not at its name: moved aside, the new one not yet renamed in.

    A Ctrl-C or a failing rename exactly there (injected into that rename) must put the old one back.
    """
    import os

    from vibsentry.errors import BundleError
    from vibsentry.runtime import bundle as B

    fake_bundle(tmp_path / "b")
    before = snapshot(tmp_path)
    real = os.replace
    calls: list[tuple[str, str]] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append((Path(str(src)).name, Path(str(dst)).name))
        if Path(str(src)).name.startswith(".b.tmp-") and Path(str(dst)).name == "b":
            assert not (tmp_path / "b").exists()  # the old bundle really is aside at this point
            raise fault()
        real(src, dst)

    monkeypatch.setattr(B.os, "replace", replace)
    # The two-rename path runs where the system cannot exchange two folders in one step.
    monkeypatch.setattr(B, "exchange_paths", lambda a, b: False)
    with pytest.raises(BundleError if fault is OSError else KeyboardInterrupt):
        B.save_bundle(
            tmp_path / "b",
            meta={"format": B.FORMAT, "format_version": 1},
            files={"report.md": b"new\n"},
            overwrite=True,
        )
    assert [c[1] for c in calls] == [f".b.old-{os.getpid()}", "b", "b"], calls  # aside, (failed) in, back
    monkeypatch.undo()
    only_the_old_bundle(tmp_path, before)
    assert B.check_replaceable(tmp_path / "b") == tmp_path / "b"


def test_save_bundle_overwrite_swaps_in_one_step_where_linux_can(tmp_path: Path) -> None:
    """With renameat2(RENAME_EXCHANGE) there is no moment without a bundle at the name: a kill cannot strand
    the old one under a temporary name. Every step is checked: the new bundle in place, no leftovers."""
    import sys

    from vibsentry.fileio import exchange_paths
    from vibsentry.runtime import bundle as B

    a, b = tmp_path / "x", tmp_path / "y"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    swapped = exchange_paths(a, b)
    if not sys.platform.startswith("linux"):
        assert swapped is False
        pytest.skip("RENAME_EXCHANGE is Linux-only")
    assert swapped and (a / "f").read_text() == "b" and (b / "f").read_text() == "a"
    with pytest.raises(FileNotFoundError):
        exchange_paths(a, tmp_path / "missing")  # an error is raised, not reported as "cannot"

    fake_bundle(tmp_path / "b")
    calls: list[str] = []
    real = B.exchange_paths

    def spy(x: Path, y: Path) -> bool:
        calls.append(Path(y).name)
        return real(x, y)

    B_exchange = pytest.MonkeyPatch()
    B_exchange.setattr(B, "exchange_paths", spy)
    try:
        B.save_bundle(
            tmp_path / "b",
            meta={"format": B.FORMAT, "format_version": 1},
            files={"report.md": b"new\n"},
            overwrite=True,
        )
    finally:
        B_exchange.undo()
    assert calls == ["b"]
    assert (tmp_path / "b" / "report.md").read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
