"""Build firmware_core from pytest: one ``make`` per target and build directory per session.

Usage in a test module::

    from tests.support.cbuild import build_host, run_c_test

    def test_protocol_c():
        run_c_test("test_protocol")          # builds `make host` once, runs the ASan/UBSan binary

    def test_parity():
        b = build_host()
        lib = ctypes.CDLL(str(b.lib_so))     # libvscore.so: no sanitizers, safe to load into Python

Every build output lives under ``firmware_core/build/`` (ignored by git). ``make`` itself decides what is out
of date (file mtimes), so the first test of a session pays for the build and the others reuse it. A missing
compiler or ``make`` skips the test with the reason; a failing build fails it with make's output.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware_core"
DEFAULT_BUILD = FIRMWARE / "build"

#: Compilers each make target needs (checked before building so a missing one skips, not fails).
TOOLS: dict[str, tuple[str, ...]] = {
    "host": ("make", "gcc"),
    "test": ("make", "gcc"),
    "cortex-m4": ("make", "arm-none-eabi-gcc"),
    "qemu-m4": ("make", "arm-none-eabi-gcc"),
    "rv32imc": ("make", "riscv64-unknown-elf-gcc"),
    "rv32imc-probe": ("make", "riscv64-unknown-elf-gcc"),
    "cppcheck": ("make", "cppcheck"),
}

_lock = threading.Lock()
_done: dict[tuple[str, str, str], subprocess.CompletedProcess[str]] = {}


@dataclass(frozen=True)
class CBuild:
    """Paths of one firmware_core build directory.

    Attributes
    ----------
    build_dir : Path
        ``firmware_core/build`` or the directory given to :func:`make`.
    """

    build_dir: Path

    @property
    def host_dir(self) -> Path:
        return self.build_dir / "host"

    @property
    def lib_so(self) -> Path:
        """Host shared library (``-O2 -fPIC``, no sanitizers) for ctypes."""
        return self.host_dir / "libvscore.so"

    @property
    def lib_a(self) -> Path:
        """Host static library."""
        return self.host_dir / "libvscore.a"

    def test_binary(self, name: str) -> Path:
        """The ASan/UBSan binary built from ``firmware_core/tests/<name>.c``."""
        return self.build_dir / "host-asan" / "tests" / name

    @property
    def feature_config(self) -> Path:
        """The generated ``vs/vs_feature_config.h``."""
        return self.build_dir / "gen" / "vs" / "vs_feature_config.h"

    @property
    def cmsis_dir(self) -> Path:
        """Unpacked CMSIS-DSP sources (``Include/``, ``Source/``)."""
        return self.build_dir / "cmsis" / "cmsisdsp-1.10.3"

    def target_dir(self, target: str) -> Path:
        """Output folder of a cross target (``cortex-m4``, ``rv32imc``)."""
        return self.build_dir / target


#: C libraries the cross targets link against (Debian packages), checked like the compilers.
LIBS: dict[str, tuple[str, str]] = {
    "rv32imc": ("/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs", "picolibc-riscv64-unknown-elf"),
    "cortex-m4": ("/usr/lib/arm-none-eabi/newlib", "libnewlib-arm-none-eabi"),
    "qemu-m4": ("/usr/lib/arm-none-eabi/newlib", "libnewlib-arm-none-eabi"),
}


def require_tools(*tools: str) -> None:
    """Skip the calling test when one of ``tools`` is not on PATH."""
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"{t} not found on PATH (./dev.sh setup installs it as root)")


def make(
    target: str = "host",
    *,
    build_dir: Path | None = None,
    features_toml: Path | None = None,
    extra: tuple[str, ...] = (),
) -> CBuild:
    """Run ``make -C firmware_core TARGET`` once per session and return the build's paths.

    Parameters
    ----------
    target : str
        A Makefile target (``host``, ``cortex-m4``, ``rv32imc``, ``qemu-m4``, ``cppcheck``, ...).
    build_dir : Path, optional
        Separate build directory (needed when ``features_toml`` differs from the default config).
    features_toml : Path, optional
        TOML file whose ``[features]`` table is rendered into ``vs_feature_config.h``.
    extra : tuple of str
        More ``VAR=value`` arguments for make.

    Returns
    -------
    CBuild
        Paths inside the build directory.
    """
    require_tools(*TOOLS.get(target, ("make",)))
    if target in LIBS and not Path(LIBS[target][0]).exists():
        pytest.skip(
            f"{LIBS[target][0]} missing: Debian package {LIBS[target][1]} (./dev.sh setup installs it)"
        )
    bdir = (build_dir or DEFAULT_BUILD).resolve()
    key = (target, str(bdir), str(features_toml or "") + "|" + " ".join(extra))
    with _lock:
        if key not in _done:
            cmd = [
                "make",
                "-C",
                str(FIRMWARE),
                f"-j{min(os.cpu_count() or 1, 2)}",
                target,
                f"BUILD={bdir}",
                f"PYTHON={sys.executable}",
                *extra,
            ]
            if features_toml is not None:
                cmd.append(f"FEATURES_TOML={Path(features_toml).resolve()}")
            bdir.mkdir(parents=True, exist_ok=True)
            # Several pytest processes may share a build directory (developers running their own tests at
            # the same time): one make at a time per directory, the others wait and then find it up to date.
            with open(bdir / ".make.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                out = (proc.stdout + proc.stderr)[-6000:]
                pytest.fail(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{out}", pytrace=False)
            _done[key] = proc
    return CBuild(bdir)


def build_host(**kwargs: object) -> CBuild:
    """``make host``: libvscore.a, libvscore.so and every sanitized test binary."""
    return make("host", **kwargs)  # type: ignore[arg-type]


def run_c_test(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Build the host tests and run ``firmware_core/tests/<name>.c``'s binary from the repository root.

    Fails the calling test with the binary's output when it exits non-zero (a sanitizer report included).
    """
    b = build_host()
    exe = b.test_binary(name)
    if not exe.exists():
        pytest.fail(f"{exe} was not built; is firmware_core/tests/{name}.c there?", pytrace=False)
    env = dict(
        os.environ,
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
    )
    proc = subprocess.run(
        [str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )
    if proc.returncode != 0:
        pytest.fail(f"{name} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-6000:]}", pytrace=False)
    return proc
