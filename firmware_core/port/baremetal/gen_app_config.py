"""Write ``vs_app_config.h`` for the bare-metal node application (vs_app.c) from a model bundle.

Run by firmware_stm32/Makefile and firmware_rv32/Makefile::

    python gen_app_config.py --bundle DIR --fw-version stm32-0.1.0 --out build/gen/vs_app_config.h
    python gen_app_config.py --fw-version stm32-0.1.0 --out ...      # no bundle: no model

It reads only ``bundle.json`` (docs/bundle.md: the alarm rule and the sha256 of ``model.tflite``), so the
build needs no TensorFlow. The model C itself comes from ``vibsentry export``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

#: Without a bundle the node scores the mean squared raw feature value (vs_node.h, "Score"); this rule
#: keeps that plumbing build from raising alarms on arbitrary numbers.
NO_MODEL_RULE = {"threshold": 1.0e30, "clear_threshold": 1.0e30, "k": 1, "n": 1}


def _c_float(x: float) -> str:
    # repr() round-trips a double; the bundle's thresholds are float32 values, so the C float literal
    # written with 9 significant digits is the same float32.
    return f"{float(x):.9g}f"


def render(*, bundle: Path | None, fw_version: str, features_every: int, raw_capture: int) -> str:
    """The header text."""
    if not fw_version or len(fw_version) > 32 or not fw_version.isprintable() or not fw_version.isascii():
        raise ValueError(f"--fw-version {fw_version!r}: 1..32 printable ASCII characters")
    lines = [
        "/* GENERATED - do not edit. Source: firmware_core/port/baremetal/gen_app_config.py"
        + (f", {bundle / 'bundle.json'}" if bundle else ", no bundle")
        + " */",
        "#ifndef VS_APP_CONFIG_H",
        "#define VS_APP_CONFIG_H",
        f'#define VS_APP_FW_VERSION "{fw_version}"',
        f"#define VS_APP_FEATURES_EVERY {int(features_every)}u",
        f"#define VS_APP_RAW_CAPTURE_SAMPLES {int(raw_capture)}u",
    ]
    rule = NO_MODEL_RULE
    if bundle is not None:
        meta = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
        rule = meta.get("alarm") or {}
        missing = [k for k in ("threshold", "clear_threshold", "k", "n") if k not in rule]
        if missing:
            raise ValueError(f"{bundle / 'bundle.json'}: alarm rule lacks {', '.join(missing)}")
        digest = bytes.fromhex(meta["files"]["model.tflite"])
        lines.append("#define VS_APP_HAVE_MODEL 1")
        lines.append("#define VS_APP_MODEL_HASH {" + ", ".join(f"0x{b:02x}u" for b in digest) + "}")
    lines += [
        f"#define VS_APP_ALARM_THRESHOLD {_c_float(rule['threshold'])}",
        f"#define VS_APP_ALARM_CLEAR_THRESHOLD {_c_float(rule['clear_threshold'])}",
        f"#define VS_APP_ALARM_K {int(rule['k'])}u",
        f"#define VS_APP_ALARM_N {int(rule['n'])}u",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--fw-version", required=True)
    ap.add_argument("--features-every", type=int, default=10)
    ap.add_argument("--raw-capture", type=int, default=0, help="RAW_CHUNK samples on an alarm raise (0: off)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    try:
        text = render(
            bundle=a.bundle,
            fw_version=a.fw_version,
            features_every=a.features_every,
            raw_capture=a.raw_capture,
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"gen_app_config: {exc}", file=sys.stderr)
        return 1
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=a.out.parent, prefix=".vs_app_config.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
