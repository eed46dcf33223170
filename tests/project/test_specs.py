"""The specs of shared facts (specs/*.toml) and the files generated from them: fresh, consistent, unique."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from vibsentry import _model_ops_spec, _status_codes
from vibsentry import protocol as vp

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_specs", ROOT / "scripts" / "gen_specs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_specs"] = mod
    spec.loader.exec_module(mod)
    return mod


gen = _gen()


@pytest.mark.parametrize("path", sorted(gen.render_all()), ids=lambda p: str(p.relative_to(ROOT)))
def test_generated_file_is_fresh(path: Path) -> None:
    # Re-run the generator in memory: a spec edited without regenerating (or a generated file edited by hand)
    # fails here. Fix: python3 scripts/gen_specs.py
    expected = gen.render_all()[path]
    assert path.exists(), f"{path.relative_to(ROOT)} missing: run python3 scripts/gen_specs.py"
    actual = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path.relative_to(ROOT)} is stale: run python3 scripts/gen_specs.py"


def test_generated_files_carry_the_banner_with_the_spec_hash() -> None:
    for path, text in gen.render_all().items():
        if path.suffix == ".md":
            assert "GENERATED:" in text and "do not edit" in text
            continue
        head = text[:400]
        assert "GENERATED \u2014 do not edit" in head, path
        m = re.search(r"Source: (specs/\S+) \(sha256 ([0-9a-f]{64})\)", head)
        assert m is not None, path
        assert gen.spec_sha(ROOT / m.group(1)) == m.group(2)


def test_default_c_headers_equal_their_generators() -> None:
    # The committed vs_feature_config.h (FeatureParams()) and bench data let firmware_core build without
    # Python; they must be exactly what the Python generators produce.
    for path, text in gen.render_defaults().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is stale: run .venv/bin/python scripts/gen_specs.py --defaults"
        )


def test_check_mode_reports_nothing_stale() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_specs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_status_codes_are_unique_and_inside_their_module_range() -> None:
    modules = tomllib.loads((SPECS / "status_codes.toml").read_text(encoding="utf-8"))["modules"]
    seen: dict[int, str] = {}
    names: set[str] = set()
    ranges = []
    for m in modules:
        lo, hi = m["range"]
        ranges.append((lo, hi, m["name"]))
        for c in m.get("codes", []):
            v = int(c["value"])
            assert c["name"] not in names, f"status code name {c['name']} defined twice"
            names.add(c["name"])
            assert v not in seen, f"{c['name']} = {v} collides with {seen.get(v)}"
            seen[v] = c["name"]
            assert lo <= v <= hi, f"{c['name']} = {v} outside module {m['name']} range {lo}..{hi}"
        for a in m.get("aliases", []):
            assert a["of"] in names, f"alias {a['name']} of unknown code {a['of']}"
            names.add(a["name"])
    ranges.sort()
    for (_lo1, hi1, n1), (lo2, _hi2, n2) in itertools.pairwise(ranges):
        assert hi1 < lo2, f"module ranges {n1} and {n2} overlap"
    # The generated Python table holds the same values.
    assert {k: v for k, v in _status_codes.STATUS_CODES.items() if k in seen.values()} == {
        n: v for v, n in seen.items()
    }


def test_no_status_code_is_defined_outside_the_registry() -> None:
    # A module header that #defines its own negative code bypasses the uniqueness check. Fallback definitions
    # guarded by #ifndef (while a module is being written) must agree with the registry.
    pat = re.compile(r"^\s*#\s*define\s+(VS_\w+)\s+\((-\d+)\)", re.M)
    for h in sorted((ROOT / "firmware_core").glob("**/*.h")):
        if "generated" in h.parts or "build" in h.parts:
            continue
        for name, value in pat.findall(h.read_text(encoding="utf-8")):
            assert _status_codes.STATUS_CODES.get(name) == int(value), (
                f"{h.relative_to(ROOT)}: {name} = {value} is not in specs/status_codes.toml with that value"
            )


def test_python_message_classes_follow_the_spec_layouts() -> None:
    assert set(vp.MESSAGE_CLASSES) == set(vp.LAYOUTS)
    for code, cls in vp.MESSAGE_CLASSES.items():
        lay = cls.LAYOUT
        assert vp.MsgType(code).name == lay.name
        names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        assert set(names) == set(lay.fields), f"{cls.__name__} fields differ from specs/protocol.toml"
        if lay.generic:
            # Generic messages are unpacked positionally: wire order is the constructor's order.
            assert names == lay.fields, f"{cls.__name__} field order differs from specs/protocol.toml"


def test_c_message_types_and_enums_match_python() -> None:
    text = (ROOT / "firmware_core" / "include" / "vs" / "generated" / "vs_protocol_spec.h").read_text()
    for t in vp.MsgType:
        assert f"#define VS_MSG_{t.name} 0x{int(t):02X}U" in text
    for r in vp.NackReason:
        assert f"#define VS_PROTO_NACK_{r.name} {int(r)}U" in text


def test_model_op_codes_have_one_source() -> None:
    spec_ops = tomllib.loads((SPECS / "model_ops.toml").read_text(encoding="utf-8"))["ops"]
    assert _model_ops_spec.OP_CODES == {o["name"]: o["code"] for o in spec_ops}
    assert len(set(_model_ops_spec.OP_CODES.values())) == len(spec_ops)
    # The C generator uses the generated table itself, not a copy.
    from vibsentry.codegen import ops

    assert ops.OP_CODES is _model_ops_spec.OP_CODES
    header = (ROOT / "firmware_core" / "include" / "vs" / "generated" / "vs_model_ops.h").read_text()
    for name, code in _model_ops_spec.OP_CODES.items():
        assert re.search(rf"VS_NN_OP_{name} = {code}\b", header)


def test_firmware_core_builds_without_python() -> None:
    # Issue L item 5: the C toolchain alone builds firmware_core. A dry run into an empty build dir with an
    # interpreter that does not exist must not run Python anywhere (the default vs_feature_config.h and the
    # benchmark data are committed, CMSIS-DSP comes from the cached sdist). Measured for real:
    # `make -C firmware_core cortex-m4 host BUILD=/tmp/x PYTHON=/nonexistent/python -j2` (see docs/protocol.md).
    import shutil
    import tempfile

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["make", "-n", "-C", str(ROOT / "firmware_core"), "host", "cortex-m4", "rv32imc",
             f"BUILD={tmp}/b", "PYTHON=/nonexistent/python"],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    commands = [ln for ln in proc.stdout.splitlines() if not ln.startswith("make")]
    assert any("vs_feature_config.h" in ln and ln.startswith("cp ") for ln in commands)
    offending = [ln for ln in commands if "/nonexistent/python" in ln or ".py" in ln.split()[0:2].__str__()]
    assert not offending, "\n".join(offending[:5])


@pytest.mark.parametrize(
    ("module", "cls_name", "header", "c_type"),
    [
        ("tests.firmware.test_c_trigger", "_Config", "vs/vs_trigger.h", "vs_trigger_config_t"),
        ("tests.firmware.test_c_trigger", "_Trigger", "vs/vs_trigger.h", "vs_trigger_t"),
        ("tests.firmware.test_c_alarm", "_Rule", "vs/vs_alarm.h", "vs_alarm_rule_t"),
        ("tests.firmware.test_c_alarm", "_Alarm", "vs/vs_alarm.h", "vs_alarm_t"),
    ],
)
def test_ctypes_mirrors_match_the_c_layout(module: str, cls_name: str, header: str, c_type: str) -> None:
    # The ctypes structs the C tests use are copies of C headers: the compiler checks them here.
    import importlib

    from tests.support.c_layout import c_layout, ctypes_layout

    cls = getattr(importlib.import_module(module), cls_name)
    mine = ctypes_layout(cls)
    assert c_layout(header, c_type, [n for n in mine if n != "sizeof"]) == mine


def test_cortex_m4_builds_without_python(tmp_path: Path) -> None:
    # Issue L's "done when": `make -C firmware_core cortex-m4` with no virtual environment. A real build into
    # a fresh build dir (about 14 s with -j2) with an interpreter path that does not exist.
    from tests.support.cbuild import LIBS, TOOLS, require_tools

    require_tools(*TOOLS["cortex-m4"])
    if not Path(LIBS["cortex-m4"][0]).exists():
        pytest.skip(f"{LIBS['cortex-m4'][0]} missing (Debian package {LIBS['cortex-m4'][1]}, ./dev.sh setup)")
    proc = subprocess.run(
        ["make", "-C", str(ROOT / "firmware_core"), "cortex-m4", "-j2", f"BUILD={tmp_path}/b",
         "PYTHON=/nonexistent/python"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert (tmp_path / "b" / "cortex-m4" / "libvscore.a").exists()
    assert (tmp_path / "b" / "cortex-m4" / "qemu" / "vs_bench.elf").exists()
    assert "/nonexistent/python" not in proc.stdout


def test_generator_refuses_a_status_code_collision() -> None:
    # The collision this registry was made for: VS_COBS_E_FORMAT and VS_MODEL_ERR_OP were both -120.
    modules = [
        {"name": "model", "range": [-129, -120], "codes": [{"name": "VS_MODEL_ERR_OP", "value": -120}]},
        {"name": "cobs", "range": [-139, -120], "codes": [{"name": "VS_COBS_E_FORMAT", "value": -120}]},
    ]
    with pytest.raises(ValueError, match="VS_COBS_E_FORMAT = -120 collides with VS_MODEL_ERR_OP"):
        gen.check_status_modules(modules)
    modules[1]["range"] = [-139, -130]
    modules[1]["codes"] = [{"name": "VS_COBS_E_FORMAT", "value": -130}]
    gen.check_status_modules(modules)


def test_protocol_vectors_are_fresh() -> None:
    # The known-answer vectors are generated too: regenerate them in memory (seeded) and compare.
    spec = importlib.util.spec_from_file_location(
        "make_protocol_vectors", ROOT / "scripts" / "make_protocol_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files, _, _ = mod.render()
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is stale: run .venv/bin/python scripts/make_protocol_vectors.py"
        )
