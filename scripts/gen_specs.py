"""Generate code and doc tables from the specs of facts shared by Python and C (stdlib only).

Sources (``specs/``) and what each one generates:

- ``protocol.toml``: ``vibsentry/_protocol_spec.py`` (constants, enums, message layouts for
  ``vibsentry.protocol``), ``firmware_core/include/vs/generated/vs_protocol_spec.h`` (macros, enums, message
  structs), ``firmware_core/src/vs_protocol_fixed.inc`` (the C codec of every fixed-layout message, included by
  ``vs_protocol.c``) and the tables of ``docs/protocol.md`` between ``<!-- GENERATED:... -->`` markers;
- ``status_codes.toml``: ``firmware_core/include/vs/generated/vs_status_codes.h`` and
  ``vibsentry/_status_codes.py``;
- ``model_ops.toml``: ``firmware_core/include/vs/generated/vs_model_ops.h`` and ``vibsentry/_model_ops_spec.py``.

Every generated file starts with a "GENERATED — do not edit" banner naming its spec and the spec's SHA-256.

Usage::

    python3 scripts/gen_specs.py            # rewrite what changed (atomically), print what was written
    python3 scripts/gen_specs.py --check    # exit 1 listing stale files, write nothing

``--defaults`` (needs the project's virtual environment, since it runs the Python feature pipeline) also
regenerates the committed default ``vs_feature_config.h`` and the benchmark data header, the two generated C
headers the firmware_core Makefile uses when no Python is available.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
FW_GEN = ROOT / "firmware_core" / "include" / "vs" / "generated"
DASH = "\u2014"

# --------------------------------------------------------------------------------------------------------
# Protocol model
# --------------------------------------------------------------------------------------------------------

#: scalar type -> (struct code, size, C type, C reader suffix)
SCALARS: dict[str, tuple[str, int, str]] = {
    "u8": ("B", 1, "uint8_t"),
    "u16": ("H", 2, "uint16_t"),
    "u32": ("I", 4, "uint32_t"),
    "u64": ("Q", 8, "uint64_t"),
    "i16": ("h", 2, "int16_t"),
    "f32": ("f", 4, "float"),
}
_ARRAY = re.compile(r"^(f32|u8|samples)\[([a-z_]\w*)\]$")
_FIXED_ARRAY = re.compile(r"^(u8|u16|u32|f32)\[(\d+)\]$")
_BYTES = re.compile(r"^bytes(\d+)$")


@dataclass
class Field:
    name: str
    type: str
    doc: str
    spec: dict[str, Any]
    size: int | None = None  # fixed size in bytes, None for variable-size fields
    fmt: str = ""  # struct code of a fixed-size field
    elem: str = ""  # element type of an array ("f32", "u8", "samples"; fixed arrays: "u32", ...)
    count: str = ""  # name of the count field of a variable-size array
    length: int = 0  # number of elements of a fixed-size array (0: not one)

    @property
    def is_bytes(self) -> bool:
        return self.type == "hash" or bool(_BYTES.match(self.type))

    @property
    def c(self) -> str:
        return str(self.spec.get("c", self.name))


@dataclass
class Message:
    name: str
    code: int
    cls: str
    c_struct: str
    doc: str
    fields: list[Field]
    fixed: list[Field] = field(default_factory=list)  # fields before the first variable-size one
    tail: list[Field] = field(default_factory=list)  # trailing fixed-size fields that need a newer version

    @property
    def generic(self) -> bool:
        """Fixed layout, no optional values, no version-dependent fields: codec fully generated."""
        return len(self.fixed) == len(self.fields) and not any(
            "flag" in f.spec or "since" in f.spec for f in self.fields
        )

    @property
    def fixed_size(self) -> int:
        return sum(f.size or 0 for f in self.fixed)

    @property
    def direction(self) -> str:
        return "node_to_host" if self.code < 0x40 else "host_to_node"

    def by_name(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no field {name!r}")

    @property
    def py_fields(self) -> list[Field]:
        """Fields of the Python dataclass: counts, string lengths and flag bytes are implied by the values."""
        counts = {f.count for f in self.fields if f.count}
        flags = {str(f.spec["flag"]) for f in self.fields if "flag" in f.spec}
        return [f for f in self.fields if f.name not in counts and f.name not in flags]


@dataclass
class Enum:
    name: str
    field: str
    c_prefix: str
    doc: str
    open: bool
    values: list[dict[str, Any]]


@dataclass
class Protocol:
    version: int
    min_version: int
    constants: dict[str, int]
    const_docs: dict[str, dict[str, Any]]
    error_kinds: list[dict[str, str]]
    header: list[Field]
    enums: dict[str, Enum]
    messages: list[Message]


def _field(d: dict[str, Any], consts: dict[str, int]) -> Field:
    t = str(d["type"])
    f = Field(name=str(d["name"]), type=t, doc=str(d.get("doc", "")), spec=d)
    if t in SCALARS:
        f.fmt, f.size, _ = SCALARS[t]
    elif t == "hash":
        f.fmt, f.size = f"{consts['HASH_SIZE']}s", consts["HASH_SIZE"]
    elif m := _BYTES.match(t):
        f.fmt, f.size = f"{m.group(1)}s", int(m.group(1))
    elif t == "str":
        pass
    elif m := _FIXED_ARRAY.match(t):
        code, size, _ = SCALARS[m.group(1)]
        f.elem, f.length = m.group(1), int(m.group(2))
        f.fmt, f.size = f"{f.length}{code}", size * f.length
    elif m := _ARRAY.match(t):
        f.elem, f.count = m.group(1), m.group(2)
    else:
        raise ValueError(f"field {f.name!r}: unknown type {t!r}")
    return f


def load_protocol(path: Path = SPECS / "protocol.toml") -> Protocol:
    """Parse and check ``protocol.toml``."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    consts: dict[str, int] = {}
    for name, c in spec["constants"].items():
        v = c["value"]
        consts[name] = int(eval(v, {"__builtins__": {}}, dict(consts))) if isinstance(v, str) else int(v)
    enums = {
        e["name"]: Enum(
            e["name"], e["field"], e["c_prefix"], e.get("doc", ""), e.get("open", False), e["values"]
        )
        for e in spec["enums"]
    }
    msgs = []
    for m in spec["messages"]:
        fields = [_field(f, consts) for f in m["fields"]]
        msg = Message(m["name"], int(m["code"]), m["class"], m["c_struct"], m.get("doc", ""), fields)
        for f in fields:
            if f.size is None or "since" in f.spec:
                break
            msg.fixed.append(f)
        msg.tail = [f for f in fields if "since" in f.spec]
        if msg.tail and (fields[-len(msg.tail) :] != msg.tail or any(f.size is None for f in msg.tail)):
            raise ValueError(f"{msg.name}: `since` fields must be fixed-size and come last")
        for f in fields:
            if f.count:
                msg.by_name(f.count)  # the count field must exist
            if "enum" in f.spec and f.spec["enum"] not in enums:
                raise ValueError(f"{msg.name}.{f.name}: unknown enum {f.spec['enum']!r}")
        msgs.append(msg)
    codes = [m.code for m in msgs]
    if len(set(codes)) != len(codes):
        raise ValueError("protocol.toml: duplicate message codes")
    for m in msgs:
        if m.fixed_size > consts["MAX_PAYLOAD"]:
            raise ValueError(f"{m.name}: fixed part {m.fixed_size} > MAX_PAYLOAD")
    header = [_field(f, consts) for f in spec["header"]["fields"]]
    p = spec["protocol"]
    return Protocol(
        int(p["version"]),
        int(p["min_version"]),
        consts,
        spec["constants"],
        spec["error_kinds"],
        header,
        enums,
        msgs,
    )


def _limit(v: Any, consts: dict[str, int]) -> int:
    return consts[v] if isinstance(v, str) else int(v)


def checks(msg: Message, p: Protocol, fields: list[Field] | None = None) -> list[tuple[Field, str, Any]]:
    """Decoder rules on fixed-size scalar fields (default: the fixed part and the tail): (field, kind, arg) with
    kind "in" (set of ints), "range" (lo, hi, hi as written), "mask" (allowed bits) or "lt" (other field)."""
    out: list[tuple[Field, str, Any]] = []
    for f in (msg.fixed + msg.tail) if fields is None else fields:
        s = f.spec
        if "enum" in s and not p.enums[s["enum"]].open:
            out.append((f, "in", sorted(int(v["value"]) for v in p.enums[s["enum"]].values)))
        if "min" in s or "max" in s:
            hi = s["max"]
            out.append((f, "range", (_limit(s.get("min", 0), p.constants), _limit(hi, p.constants), hi)))
        if "mask" in s:
            out.append((f, "mask", int(s["mask"])))
        if "less_than" in s:
            out.append((f, "lt", msg.by_name(s["less_than"])))
    return out


# --------------------------------------------------------------------------------------------------------
# Banners and hashing
# --------------------------------------------------------------------------------------------------------


def spec_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def banner_text(spec: Path) -> str:
    rel = spec.relative_to(ROOT).as_posix()
    return f"GENERATED {DASH} do not edit. Source: {rel} (sha256 {spec_sha(spec)}); regenerate: python3 scripts/gen_specs.py"


def c_banner(spec: Path, what: str) -> str:
    return f"/*\n * {banner_text(spec)}\n *\n * {what}\n */\n"


def py_banner(spec: Path, what: str) -> str:
    # fmt: off keeps ruff format from re-wrapping generated tables (the staleness test compares exact text).
    return f'"""{banner_text(spec)}\n\n{what}\n"""\n\n# fmt: off\n'


# --------------------------------------------------------------------------------------------------------
# Python
# --------------------------------------------------------------------------------------------------------


def _tup(names: tuple[str, ...] | list[str]) -> str:
    """A tuple of strings as ruff format writes it."""
    items = [f'"{n}"' for n in names]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _py_enum(e: Enum, *, hex_values: bool = False) -> str:
    lines = [f"class {e.name}(IntEnum):", f'    """{e.doc[0].upper() + e.doc[1:]}."""', ""]
    for v in e.values:
        doc = f"  # {v['doc']}" if v.get("doc") else ""
        val = f"0x{int(v['value']):02X}" if hex_values else str(int(v["value"]))
        lines.append(f"    {v['name']} = {val}{doc}")
    return "\n".join(lines) + "\n"


def render_python_protocol(p: Protocol, spec: Path) -> str:
    out = [
        py_banner(
            spec,
            "Tables of the wire protocol for vibsentry.protocol (which adds the message classes and the codec):\n"
            "constants, enumerations, decode error kinds and the byte layout of every message.",
        ),
        "\nfrom __future__ import annotations\n\nimport struct\nfrom collections.abc import Callable\nfrom enum import IntEnum\nfrom typing import Any, NamedTuple\n\n",
        f"#: Protocol version written in every frame header by default.\nPROTOCOL_VERSION = {p.version}\n",
        f"#: Oldest header version decoders accept.\nMIN_PROTOCOL_VERSION = {p.min_version}\n",
    ]
    for name, value in p.constants.items():
        out.append(f"#: {p.const_docs[name]['doc']}.\n{name} = {value}\n")
    out.append("\n#: Kinds of decode errors, in the order a receiver checks them.\n")
    out.append(
        "ERROR_KINDS: tuple[str, ...] = (" + ", ".join(f'"{k["name"]}"' for k in p.error_kinds) + ")\n"
    )
    out.append("#: The C status code (specs/status_codes.toml) of each error kind.\n")
    kinds = ", ".join(f'"{k["name"]}": "{k["status"]}"' for k in p.error_kinds)
    out.append("ERROR_KIND_STATUS: dict[str, str] = {" + kinds + "}\n\n\n")
    mt = Enum("MsgType", "msg_type", "VS_MSG_", "message type codes (header byte 1); 0x01-0x3F node -> host, "
              "0x40-0x7F host -> node", False, [{"name": m.name, "value": m.code} for m in p.messages])  # fmt: skip
    out.append(_py_enum(mt, hex_values=True) + "\n\n")
    for e in p.enums.values():
        out.append(_py_enum(e) + "\n\n")
    out.append("#: Bytes per sample of each SampleFormat.\n")
    out.append("SAMPLE_SIZES: dict[int, int] = {" + ", ".join(
        f"{int(v['value'])}: {int(v['size'])}" for v in p.enums["SampleFormat"].values) + "}\n")  # fmt: skip
    out.append("#: Most samples per message for each SampleFormat.\n")
    out.append("MAX_SAMPLES: dict[int, int] = {" + ", ".join(
        f"{int(v['value'])}: {p.constants[v['max_count']]}" for v in p.enums["SampleFormat"].values) + "}\n\n\n")  # fmt: skip
    out.append(
        '''class Check(NamedTuple):
    """One decoder rule on a fixed-part field: ``values[pos]`` must satisfy ``kind`` with ``arg``.

    ``kind`` is "in" (``arg`` a set or range of allowed values), "mask" (``arg`` the allowed bits) or "lt"
    (less than ``values[arg]``).
    """

    pos: int
    name: str
    kind: str
    arg: object


class Layout(NamedTuple):
    """Byte layout of one message type."""

    name: str  # MsgType name
    fields: tuple[str, ...]  # dataclass fields, in wire order (counts, lengths and flag bytes are implied)
    fixed: struct.Struct  # the fields before the first variable-size one (all of them for fixed layouts)
    fixed_names: tuple[str, ...]
    checks: tuple[Check, ...]  # rules on the fixed part, checked after the payload size
    generic: bool  # fixed layout and no optional fields: vibsentry.protocol packs it with ``fixed`` alone
    bytes_fields: tuple[str, ...]  # raw-bytes fields (hashes, signatures, data): hex in JSON
    bytes_sizes: tuple[int, ...]  # their sizes (0: variable, an array)
    lengths: tuple[int, ...]  # per fixed_names entry: elements of a fixed-size array (tuple), 0 for a scalar
    tail: struct.Struct  # trailing fields present from protocol version ``tail_since`` on (empty: none)
    tail_names: tuple[str, ...]
    tail_checks: tuple[Check, ...]  # rules on the tail (indices into the tail)
    tail_since: int
    valid: Callable[[tuple[Any, ...]], bool]  # all of ``checks`` hold (fast path; ``checks`` explain a failure)
    tail_valid: Callable[[tuple[Any, ...]], bool]  # all of ``tail_checks`` hold
    arrays: bool  # some fixed-part field is a fixed-size array (``lengths``)


'''
    )
    for m in p.messages:
        fmt = "<" + "".join(f.fmt for f in m.fixed)
        cs_txt = _py_checks(m, p, m.fixed)
        tail_txt = _py_checks(m, p, m.tail)
        byts = tuple(f.name for f in m.fields if f.is_bytes or f.elem == "u8")
        bsizes = tuple(m.by_name(n).size or 0 for n in byts)
        lengths = [f.length for f in m.fixed]
        since = max((int(f.spec["since"]) for f in m.tail), default=0)
        low = m.name.lower()
        out.append(_py_valid(f"_valid_{low}", m, p, m.fixed))
        out.append(_py_valid(f"_tail_valid_{low}", m, p, m.tail))
        out.append(
            f"{m.name}_LAYOUT = Layout(\n"
            f'    "{m.name}",\n'
            f"    {_tup([f.name for f in m.py_fields])},\n"
            f'    struct.Struct("{fmt}"),\n'
            f"    {_tup([f.name for f in m.fixed])},\n"
            f"    {cs_txt},\n"
            f"    {m.generic},\n"
            f"    {_tup(byts)},\n"
            f"    ({', '.join(map(str, bsizes))}{',' if len(bsizes) == 1 else ''}),\n"
            f"    ({', '.join(map(str, lengths))}{',' if len(lengths) == 1 else ''}),\n"
            f'    struct.Struct("<{"".join(f.fmt for f in m.tail)}"),\n'
            f"    {_tup([f.name for f in m.tail])},\n"
            f"    {tail_txt},\n"
            f"    {since},\n"
            f"    _valid_{low},\n"
            f"    _tail_valid_{low},\n"
            f"    {any(lengths)},\n"
            ")\n"
        )
    out.append("\n#: Layout of each message type.\nLAYOUTS: dict[int, Layout] = {\n")
    for m in p.messages:
        out.append(f"    MsgType.{m.name}: {m.name}_LAYOUT,\n")
    out.append("}\n")
    return "".join(out)


def _py_valid(name: str, m: Message, p: Protocol, fields: list[Field]) -> str:
    """A Python function that is True when every rule on ``fields`` holds for the flat value tuple ``v``: the
    decoder's fast path (the ``Check`` tuples only explain a failure)."""
    idx, pos = {}, 0
    for f in fields:
        idx[f.name] = pos
        pos += f.length or 1
    terms = []
    for f, kind, arg in checks(m, p, fields):
        x = f"v[{idx[f.name]}]"
        if kind == "in":
            lo, hi = arg[0], arg[-1]
            terms.append(
                f"{lo} <= {x} <= {hi}" if arg == list(range(lo, hi + 1)) else f"{x} in {tuple(arg)!r}"
            )
        elif kind == "range":
            terms.append(f"{arg[0]} <= {x} <= {arg[1]}")
        elif kind == "mask":
            terms.append(f"not {x} & ~0x{arg:02X}")
        else:
            terms.append(f"{x} < v[{idx[arg.name]}]")
    body = " and ".join(terms) if terms else "True"
    arg_name = "v" if terms else "_v"
    return f"\n\ndef {name}({arg_name}: tuple[Any, ...]) -> bool:\n    return {body}\n\n\n"


def _py_checks(m: Message, p: Protocol, fields: list[Field]) -> str:
    """Python ``Check(...)`` tuple of the rules on ``fields``; indices count array elements one by one (the
    positions in the flat tuple ``struct.unpack`` returns)."""
    idx, pos = {}, 0
    for f in fields:
        idx[f.name] = pos
        pos += f.length or 1
    cs = []
    for f, kind, arg in checks(m, p, fields):
        if kind == "in":
            lo, hi = arg[0], arg[-1]
            a = (
                f"range({lo}, {hi + 1})"
                if arg == list(range(lo, hi + 1))
                else "frozenset({" + ", ".join(map(str, arg)) + "})"
            )
            cs.append(f'Check({idx[f.name]}, "{f.name}", "in", {a})')
        elif kind == "range":
            lo, hi, _ = arg
            cs.append(f'Check({idx[f.name]}, "{f.name}", "in", range({lo}, {hi + 1}))')
        elif kind == "mask":
            cs.append(f'Check({idx[f.name]}, "{f.name}", "mask", 0x{arg:02X})')
        else:
            cs.append(f'Check({idx[f.name]}, "{f.name}", "lt", {idx[arg.name]})')
    return "(" + ", ".join(cs) + ("," if len(cs) == 1 else "") + ")"


def render_python_status(modules: list[dict[str, Any]], spec: Path) -> str:
    out = [py_banner(spec, "Every firmware_core C status code (name -> value), aliases included."), "\n"]
    out.append("STATUS_CODES: dict[str, int] = {\n")
    values = {c["name"]: int(c["value"]) for m in modules for c in m.get("codes", [])}
    for m in modules:
        for c in m.get("codes", []):
            out.append(f'    "{c["name"]}": {int(c["value"])},\n')
        for a in m.get("aliases", []):
            out.append(f'    "{a["name"]}": {values[a["of"]]},  # = {a["of"]}\n')
    out.append("}\n")
    return "".join(out)


def render_python_ops(ops: list[dict[str, Any]], spec: Path) -> str:
    out = [py_banner(spec, "Op codes of the int8 model runtime (vs_nn_op_code_t in vs_model.h)."), "\n"]
    out.append("OP_CODES: dict[str, int] = {\n")
    for o in ops:
        out.append(f'    "{o["name"]}": {int(o["code"])},\n')
    out.append("}\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------------------
# C
# --------------------------------------------------------------------------------------------------------


def _u(v: int) -> str:
    return f"{v}U"


def _c_member(f: Field, p: Protocol, m: Message) -> list[str]:
    doc = f" /* {f.doc} */" if f.doc else ""
    if f.type in SCALARS:
        return [f"    {SCALARS[f.type][2]} {f.c};{doc}"]
    if f.length:
        return [f"    {SCALARS[f.elem][2]} {f.c}[{f.length}U];{doc}"]
    if f.type == "hash":
        return [f"    uint8_t {f.c}[VS_PROTO_HASH_SIZE];{doc}"]
    if f.is_bytes:
        return [f"    uint8_t {f.c}[{f.size}U];{doc}"]
    if f.type == "str":
        return [
            f"    uint8_t {f.c}_len; /* <= VS_PROTO_MAX_STRING */",
            f"    char {f.c}[VS_PROTO_MAX_STRING + 1U];{doc[:-3]}; printable ASCII, NUL-terminated by the decoder */",
        ]
    if f.elem == "samples":
        return [f"    vs_proto_samples_t {f.c};{doc}"]
    cnt = m.by_name(f.count)
    cap = f"VS_PROTO_{cnt.spec['max']}"
    ctype = "float" if f.elem == "f32" else "uint8_t"
    return [f"    {ctype} {f.c}[{cap}];{doc}"]


def render_c_protocol(p: Protocol, spec: Path) -> str:
    out = [
        c_banner(
            spec,
            "Wire protocol constants, enumerations and message structs (docs/protocol.md). Included by\n"
            " * vs/vs_protocol.h, which declares the codec functions; include that one.",
        ),
        "#ifndef VS_PROTOCOL_SPEC_H\n#define VS_PROTOCOL_SPEC_H\n\n#include <stdint.h>\n\n",
        "/* --- versions and sizes (bytes) --- */\n",
        f"#define VS_PROTO_VERSION {_u(p.version)}     /* written in every header */\n",
        f"#define VS_PROTO_MIN_VERSION {_u(p.min_version)} /* oldest header version decoders accept */\n",
    ]
    for name, value in p.constants.items():
        v = f"0x{value:X}U" if p.const_docs[name].get("hex") else _u(value)
        out.append(f"#define VS_PROTO_{name} {v} /* {p.const_docs[name]['doc']} */\n")
    out.append("\n/* --- message types (header byte 1) --- */\n")
    for m in p.messages:
        out.append(f"#define VS_MSG_{m.name} 0x{m.code:02X}U\n")
    out.append("\n/* --- enumerations --- */\n")
    for e in p.enums.values():
        out.append(f"/* {e.name}: {e.doc} */\n")
        for val in e.values:
            out.append(f"#define {e.c_prefix}{val.get('c', val['name'])} {_u(int(val['value']))}\n")
    for m in p.messages:
        if "flag" not in "".join(str(f.spec) for f in m.fields):
            continue
        for f in m.fields:
            if "flag" in f.spec:
                out.append(
                    f"#define VS_PROTO_{m.name}_HAS_{f.name.split('_')[0].upper()} 0x{1 << int(f.spec['bit']):02X}U\n"
                )
    out.append(
        "\n/* --- payload layouts: offsets of the fixed part (and of the tail a newer version appends), sizes --- */\n"
    )
    for m in p.messages:
        off = 0
        for f in m.fixed:
            out.append(f"#define VS_PROTO_{m.name}_OFF_{f.name.upper()} {_u(off)}\n")
            off += f.size or 0
        kind = "SIZE" if len(m.fixed) == len(m.fields) else "FIXED_SIZE"
        out.append(f"#define VS_PROTO_{m.name}_{kind} {_u(m.fixed_size)}\n")
        if m.tail:
            off = 0
            for f in m.tail:
                out.append(f"#define VS_PROTO_{m.name}_TAIL_OFF_{f.name.upper()} {_u(off)}\n")
                off += f.size or 0
            out.append(f"#define VS_PROTO_{m.name}_TAIL_SIZE {_u(off)}\n")
            since = max(int(f.spec["since"]) for f in m.tail)
            out.append(
                f"#define VS_PROTO_{m.name}_TAIL_SINCE {_u(since)} /* first version with the tail */\n"
            )
    out.append("\n/* --- header and messages (floats are IEEE binary32) --- */\n")
    out.append("typedef struct {\n")
    for f in p.header:
        out.append(f"    {SCALARS[f.type][2]} {f.c}; /* {f.doc} */\n")
    out.append("} vs_proto_header_t;\n\n")
    out.append(
        "/* RAW_CHUNK / REPLAY_SAMPLES samples: i16 when sample_format is VS_PROTO_FMT_I16, else f32. */\n"
        "typedef union {\n    int16_t i16[VS_PROTO_MAX_SAMPLES_I16];\n    float f32[VS_PROTO_MAX_SAMPLES_F32];\n"
        "} vs_proto_samples_t;\n\n"
    )
    structs: dict[str, Message] = {}
    for m in p.messages:
        prev = structs.get(m.c_struct)
        if prev is None or len(m.fields) > len(prev.fields):
            structs[m.c_struct] = m
    for cs, m in structs.items():
        users = ", ".join(x.name for x in p.messages if x.c_struct == cs)
        out.append(f"/* {users} */\ntypedef struct {{\n")
        for f in m.fields:
            out.extend(line + "\n" for line in _c_member(f, p, m))
        out.append(f"}} vs_proto_{cs}_t;\n\n")
    out.append("typedef struct {\n    vs_proto_header_t header;\n    union {\n")
    for cs in structs:
        out.append(f"        vs_proto_{cs}_t {cs};\n")
    out.append("    } u; /* header.type selects the member */\n} vs_proto_msg_t;\n\n")
    out.append(
        "/* Per-kind counters of a streaming decoder (the Python Decoder.counters keys). u32, wrap. */\n"
        "typedef struct {\n    uint32_t frames; /* accepted */\n    uint32_t bytes;  /* fed */\n"
    )
    for k in p.error_kinds:
        out.append(f"    uint32_t {k['name']}; /* {k['doc']} */\n")
    out.append("} vs_proto_counters_t;\n\n#endif /* VS_PROTOCOL_SPEC_H */\n")
    return "".join(out)


_RD = {"u8": "{p}[{o}]", "u16": "vs_rd_u16({p} + {o})", "u32": "vs_rd_u32({p} + {o})",
       "u64": "vs_rd_u64({p} + {o})", "i16": "(int16_t)vs_rd_u16({p} + {o})", "f32": "vs_rd_f32({p} + {o})"}  # fmt: skip
_PUT = {"u8": "vs_put_u8", "u16": "vs_put_u16", "u32": "vs_put_u32", "u64": "vs_put_u64",
        "i16": "vs_put_i16", "f32": "vs_put_f32"}  # fmt: skip


def _c_check(f: Field, kind: str, arg: Any, p: Protocol) -> str:
    x = f"m->{f.c}"
    if kind == "in":
        lo, hi = arg[0], arg[-1]
        if arg == list(range(lo, hi + 1)):
            return f"{x} <= {_u(hi)}" if lo == 0 else f"({x} >= {_u(lo)} && {x} <= {_u(hi)})"
        return "(" + " || ".join(f"{x} == {_u(v)}" for v in arg) + ")"
    if kind == "range":
        lo, _, hi = arg
        hi_txt = f"VS_PROTO_{hi}" if isinstance(hi, str) else _u(int(hi))
        return f"({x} >= {_u(lo)} && {x} <= {hi_txt})" if lo > 0 else f"{x} <= {hi_txt}"
    if kind == "mask":
        return f"({x} & ~0x{arg:02X}U) == 0U"
    return f"{x} < m->{arg.c}"


def render_c_fixed(p: Protocol, spec: Path) -> str:
    """The C codec pieces vs_protocol.c includes: validity rules of every message, and the complete encoder
    and decoder of the generic (fixed-layout) ones."""
    out = [
        c_banner(
            spec,
            "Included by firmware_core/src/vs_protocol.c only (it uses that file's static vs_put_* / vs_rd_*\n"
            " * helpers): the field rules of every message and the codec of every fixed-layout message.",
        )
    ]
    for m in p.messages:
        rules = [_c_check(f, k, a, p) for f, k, a in checks(m, p)]
        body = " &&\n           ".join(rules) if rules else "1"
        unused = "" if rules else "    (void)m;\n"
        out.append(
            f'/* {m.name}: the rules on its fixed part (docs/protocol.md: "valid"). */\n'
            f"static int vs_gen_valid_{m.name.lower()}(const vs_proto_{m.c_struct}_t *m)\n{{\n{unused}"
            f"    return {body};\n}}\n\n"
        )
    gen = [m for m in p.messages if m.generic]
    out.append("/* Payload size of a fixed-layout message type, or -1 for the others. */\n")
    out.append("static int vs_gen_fixed_size(uint8_t type)\n{\n    switch (type) {\n")
    for m in gen:
        out.append(f"    case VS_MSG_{m.name}:\n        return (int)VS_PROTO_{m.name}_SIZE;\n")
    out.append("    default:\n        return -1;\n    }\n}\n\n")
    out.append("/* 1 when msg (a fixed-layout type) satisfies its rules. */\n")
    out.append(
        "static int vs_gen_fixed_valid(const vs_proto_msg_t *msg)\n{\n    switch (msg->header.type) {\n"
    )
    for m in gen:
        out.append(
            f"    case VS_MSG_{m.name}:\n        return vs_gen_valid_{m.name.lower()}(&msg->u.{m.c_struct});\n"
        )
    out.append("    default:\n        return 1;\n    }\n}\n\n")
    out.append("/* Serialise the payload of a fixed-layout message; returns 0 for other types. */\n")
    out.append(
        "static int vs_gen_fixed_put(vs_ser_t *s, const vs_proto_msg_t *msg)\n{\n    switch (msg->header.type) {\n"
    )
    for m in gen:
        out.append(
            f"    case VS_MSG_{m.name}: {{\n        const vs_proto_{m.c_struct}_t *m = &msg->u.{m.c_struct};\n"
        )
        for f in m.fields:
            if f.type in SCALARS:
                out.append(f"        {_PUT[f.type]}(s, m->{f.c});\n")
            elif f.length:
                out.append(f"        for (size_t i = 0; i < {_u(f.length)}; i++) {{\n")
                out.append(f"            {_PUT[f.elem]}(s, m->{f.c}[i]);\n        }}\n")
            else:
                out.append(f"        vs_put(s, m->{f.c}, {_u(f.size or 0)});\n")
        out.append("        return 1;\n    }\n")
    out.append("    default:\n        return 0;\n    }\n}\n\n")
    out.append(
        "/* Decode the payload p[0..n) of a fixed-layout type: VS_OK, VS_PROTO_E_LENGTH, VS_PROTO_E_INVALID, or\n"
        " * VS_PROTO_E_UNKNOWN_TYPE when type is not a fixed-layout one (the caller handles those). */\n"
    )
    out.append(
        "static int vs_gen_fixed_get(uint8_t type, const uint8_t *p, size_t n, vs_proto_msg_t *msg)\n{\n    switch (type) {\n"
    )
    for m in gen:
        out.append(
            f"    case VS_MSG_{m.name}: {{\n        vs_proto_{m.c_struct}_t *m = &msg->u.{m.c_struct};\n"
        )
        out.append(
            f"        if (n != VS_PROTO_{m.name}_SIZE) {{\n            return VS_PROTO_E_LENGTH;\n        }}\n"
        )
        out.append("        memset(m, 0, sizeof *m);\n")
        for f in m.fields:
            o = f"VS_PROTO_{m.name}_OFF_{f.name.upper()}"
            if f.type in SCALARS:
                out.append(f"        m->{f.c} = {_RD[f.type].format(p='p', o=o)};\n")
            elif f.length:
                step = SCALARS[f.elem][1]
                out.append(f"        for (size_t i = 0; i < {_u(f.length)}; i++) {{\n")
                rd = _RD[f.elem].format(p="p", o=f"{o} + {_u(step)} * i")
                out.append(f"            m->{f.c}[i] = {rd};\n        }}\n")
            else:
                out.append(f"        memcpy(m->{f.c}, p + {o}, {_u(f.size or 0)});\n")
        out.append(f"        return vs_gen_valid_{m.name.lower()}(m) ? VS_OK : VS_PROTO_E_INVALID;\n    }}\n")
    out.append("    default:\n        return VS_PROTO_E_UNKNOWN_TYPE;\n    }\n}\n\n")
    out.append("/* Count a rejected frame under its error kind. */\n")
    out.append("static void vs_gen_count(vs_proto_counters_t *c, int rc)\n{\n    switch (rc) {\n")
    for k in p.error_kinds[:-1]:
        out.append(f"    case {k['status']}:\n        c->{k['name']}++;\n        break;\n")
    out.append(f"    default:\n        c->{p.error_kinds[-1]['name']}++;\n        break;\n    }}\n}}\n\n")
    out.append(
        "/* Total rejected frames. */\nstatic uint32_t vs_gen_errors(const vs_proto_counters_t *c)\n{\n    return "
    )
    out.append(" + ".join(f"c->{k['name']}" for k in p.error_kinds) + ";\n}\n")
    return "".join(out)


def check_status_modules(modules: list[dict[str, Any]]) -> None:
    """Refuse a registry with two codes of one value, a code outside its module's range, overlapping ranges
    or an alias of an unknown code (ValueError naming them)."""
    seen: dict[int, str] = {}
    names: set[str] = set()
    spans = []
    for m in modules:
        lo, hi = m["range"]
        spans.append((lo, hi, m["name"]))
        for c in m.get("codes", []):
            v = int(c["value"])
            if v in seen:
                raise ValueError(f"status_codes.toml: {c['name']} = {v} collides with {seen[v]}")
            if not lo <= v <= hi:
                raise ValueError(
                    f"status_codes.toml: {c['name']} = {v} outside module {m['name']} ({lo}..{hi})"
                )
            if c["name"] in names:
                raise ValueError(f"status_codes.toml: {c['name']} defined twice")
            seen[v] = c["name"]
            names.add(c["name"])
        for a in m.get("aliases", []):
            if a["of"] not in names:
                raise ValueError(f"status_codes.toml: alias {a['name']} of unknown code {a['of']}")
            names.add(a["name"])
    spans.sort()
    for (_, hi1, n1), (lo2, _, n2) in itertools.pairwise(spans):
        if hi1 >= lo2:
            raise ValueError(f"status_codes.toml: module ranges {n1} and {n2} overlap")


def render_c_status(modules: list[dict[str, Any]], spec: Path) -> str:
    out = [
        c_banner(spec, "Every firmware_core status code (included by vs/vs_status.h; include that one)."),
        "#ifndef VS_STATUS_CODES_H\n#define VS_STATUS_CODES_H\n",
    ]
    for m in modules:
        lo, hi = m["range"]
        out.append(f"\n/* {m['name']} ({lo}..{hi}): {m['doc']} */\n")
        for c in m.get("codes", []):
            v = int(c["value"])
            out.append(f"#define {c['name']} {'(' + str(v) + ')' if v < 0 else v} /* {c['doc']} */\n")
        for a in m.get("aliases", []):
            out.append(f"#define {a['name']} {a['of']} /* {a['doc']} */\n")
    out.append("\n#endif /* VS_STATUS_CODES_H */\n")
    return "".join(out)


def render_c_ops(ops: list[dict[str, Any]], spec: Path) -> str:
    out = [
        c_banner(spec, "Op codes of the model op list (values are part of stored formats; never renumber)."),
        "#ifndef VS_MODEL_OPS_H\n#define VS_MODEL_OPS_H\n\n/** Op codes of the op list. */\ntypedef enum {\n",
    ]
    lines = []
    for o in ops:
        doc = f" /* {o['doc']} */" if o.get("doc") else ""
        lines.append(f"    VS_NN_OP_{o['name']} = {int(o['code'])}{{comma}}{doc}")
    for i, line in enumerate(lines):
        out.append(line.replace("{comma}", "," if i < len(lines) - 1 else "") + "\n")
    out.append("} vs_nn_op_code_t;\n\n#endif /* VS_MODEL_OPS_H */\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------------------
# docs/protocol.md tables
# --------------------------------------------------------------------------------------------------------


def _doc_type(f: Field) -> str:
    if f.length:
        return f.type
    if f.elem == "samples":
        return "i16[count] or f32[count]"
    if f.elem:
        return f"{f.elem}[{f.count}]"
    if f.is_bytes and f.type != "hash":
        return f"u8[{f.size}]"
    return f.type


def _doc_valid(m: Message, p: Protocol) -> list[str]:
    out = []
    for f, kind, arg in checks(m, p):
        if kind == "in":
            lo, hi = arg[0], arg[-1]
            out.append(f"`{f.name}` <= {hi}" if lo == 0 and arg == list(range(hi + 1)) else
                       f"`{f.name}` in {{{', '.join(map(str, arg))}}}")  # fmt: skip
        elif kind == "range":
            lo, hv, _ = arg
            out.append(f"{lo} <= `{f.name}` <= {hv}" if lo else f"`{f.name}` <= {hv}")
        elif kind == "mask":
            out.append(f"`{f.name}` & 0x{0xFF & ~arg:02X} == 0")
        else:
            out.append(f"`{f.name}` < `{arg.name}`")
    strs = [f for f in m.fields if f.type == "str"]
    if strs:
        out.append(f"string lengths <= {p.constants['MAX_STRING']}, printable ASCII (0x20-0x7E)")
    for f in m.fields:
        if f.elem == "samples":
            parts = [
                f"{p.constants[v['max_count']]} ({v['name'].lower()})" for v in p.enums["SampleFormat"].values
            ]
            out.append(f"`{f.count}` <= " + " or ".join(parts))
        if "flag" in f.spec:
            out.append(
                f"`{f.name}` MUST be four zero bytes when bit {f.spec['bit']} of `{f.spec['flag']}` is 0"
            )
    return out


def _doc_message(m: Message, p: Protocol) -> str:
    # Offsets: numbers up to the first variable-size field, then "base+L1+..." expressions.
    rows = []
    base, n_str = 0, 0
    terms: list[str] = []
    size_terms: list[str] = []
    for f in m.fields:
        off = str(base) if not terms else f"{base}+{'+'.join(terms)}"
        doc = f.doc
        if f.type == "str":
            n_str += 1
            doc = f"{doc} (length L{n_str})"
        if "since" in f.spec:
            doc = f"{doc} (version >= {f.spec['since']} only)"
        rows.append(f"| {off} | {_doc_type(f)} | `{f.name}`: {doc} |")
        if f.size is not None:
            base += f.size
        elif f.type == "str":
            base += 1
            terms.append(f"L{n_str}")
            size_terms.append(f"L{n_str}")
        elif f.elem == "samples":
            terms.append(f"{f.count}x(2 or 4)")
            size_terms.append(f"{f.count} x (2 if int16 else 4)")
        else:
            w = 4 if f.elem == "f32" else 1
            terms.append(f"{w}x{f.count}" if w > 1 else f.count)
            size_terms.append(f"{w} x {f.count}" if w > 1 else f.count)
    size = " + ".join([str(base), *size_terms])
    if m.tail:
        tail = sum(f.size or 0 for f in m.tail)
        since = max(int(f.spec["since"]) for f in m.tail)
        size += f"; {' + '.join([str(base - tail), *size_terms])} before version {since}"
    valid = _doc_valid(m, p)
    lines = [
        f"#### 0x{m.code:02X} {m.name} (size {size})",
        "",
        m.doc,
        "",
        "| off | type | field |",
        "|---:|---|---|",
    ]
    lines += rows
    if valid:
        lines += ["", "Valid: " + "; ".join(valid) + "."]
    return "\n".join(lines)


def doc_blocks(p: Protocol) -> dict[str, str]:
    """Text of every generated block of docs/protocol.md, by block name."""
    blocks: dict[str, str] = {}
    rows = ["| offset | size | field | notes |", "|---:|---:|---|---|"]
    off = 0
    for f in p.header:
        note = (
            f.doc
            if f.name != "version"
            else f"{f.doc}: **{p.version}** (decoders accept {p.min_version}..{p.version})"
        )
        rows.append(f"| {off} | {f.size} | `{f.name}` {f.type} | {note} |")
        off += f.size or 0
    rows.append(
        f"| {off} | N | payload | layout fixed by `msg_type`, 0 <= N <= {p.constants['MAX_PAYLOAD']} |"
    )
    rows.append(
        f"| {off}+N | {p.constants['CRC_SIZE']} | `crc` u32 | CRC-32/ISO-HDLC over bytes 0 .. {off}+N-1 (header and payload) |"
    )
    blocks["header"] = "\n".join(rows)
    rows = ["| name | value | meaning |", "|---|---:|---|"]
    for name, value in p.constants.items():
        v = f"0x{value:X}" if p.const_docs[name].get("hex") else str(value)
        rows.append(f"| `{name}` | {v} | {p.const_docs[name]['doc']} |")
    blocks["sizes"] = "\n".join(rows)
    rows = ["| kind | C status | rejected when |", "|---|---|---|"]
    for k in p.error_kinds:
        rows.append(f"| `{k['name']}` | `{k['status']}` | {k['doc']} |")
    blocks["error_kinds"] = "\n".join(rows)
    items = []
    for e in p.enums.values():
        vals = ", ".join(f"{int(v['value'])} {v['name']}" for v in e.values)
        tail = " (others may appear; receivers keep the number)" if e.open else ""
        items.append(
            f"- `{e.field}` ({e.name}, C `{e.c_prefix}*`): {vals}{tail}. {e.doc[0].upper() + e.doc[1:]}."
        )
        for val in e.values:
            if val.get("doc"):
                items.append(f"  - {val['name']}: {val['doc']}")
    blocks["enums"] = "\n".join(items)
    for m in p.messages:
        blocks[f"message:{m.name}"] = _doc_message(m, p)
    return blocks


_BLOCK = re.compile(
    r"(<!-- GENERATED:(?P<name>[\w:]+) [^>]*-->\n)(?P<body>.*?)(<!-- /GENERATED:(?P=name) -->)", re.S
)


def render_doc(text: str, p: Protocol, spec: Path) -> str:
    """docs/protocol.md with every generated block replaced (blocks are found by their markers)."""
    blocks = doc_blocks(p)
    seen = set()

    def sub(mo: re.Match[str]) -> str:
        name = mo.group("name")
        if name not in blocks:
            raise ValueError(f"docs/protocol.md: no generator for block {name!r}")
        seen.add(name)
        start = f"<!-- GENERATED:{name} from {spec.relative_to(ROOT).as_posix()} sha256 {spec_sha(spec)} {DASH} do not edit -->\n"
        return f"{start}{blocks[name]}\n{mo.group(4)}"

    out = _BLOCK.sub(sub, text)
    missing = [m.name for m in p.messages if f"message:{m.name}" not in seen]
    if missing:
        raise ValueError(f"docs/protocol.md: no GENERATED:message block for {', '.join(missing)}")
    return out


# --------------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------------

DOC = ROOT / "docs" / "protocol.md"


def render_all() -> dict[Path, str]:
    """Every generated file's expected text, by path (the staleness test compares these with the tree)."""
    proto_spec = SPECS / "protocol.toml"
    p = load_protocol(proto_spec)
    status_spec = SPECS / "status_codes.toml"
    modules = tomllib.loads(status_spec.read_text(encoding="utf-8"))["modules"]
    check_status_modules(modules)
    ops_spec = SPECS / "model_ops.toml"
    ops = tomllib.loads(ops_spec.read_text(encoding="utf-8"))["ops"]
    return {
        ROOT / "vibsentry" / "_protocol_spec.py": render_python_protocol(p, proto_spec),
        FW_GEN / "vs_protocol_spec.h": render_c_protocol(p, proto_spec),
        ROOT / "firmware_core" / "src" / "vs_protocol_fixed.inc": render_c_fixed(p, proto_spec),
        DOC: render_doc(DOC.read_text(encoding="utf-8"), p, proto_spec),
        FW_GEN / "vs_status_codes.h": render_c_status(modules, status_spec),
        ROOT / "vibsentry" / "_status_codes.py": render_python_status(modules, status_spec),
        FW_GEN / "vs_model_ops.h": render_c_ops(ops, ops_spec),
        ROOT / "vibsentry" / "_model_ops_spec.py": render_python_ops(ops, ops_spec),
    }


def render_defaults() -> dict[Path, str]:
    """The committed default C headers rendered by the Python feature pipeline (needs the venv)."""
    sys.path.insert(0, str(ROOT))
    from vibsentry.codegen.feature_config import render_feature_config
    from vibsentry.dsp import FeatureParams

    sys.path.insert(0, str(ROOT / "benchmarks" / "qemu"))
    import gen_bench_data  # type: ignore[import-not-found]

    return {
        FW_GEN / "vs_feature_config.h": render_feature_config(FeatureParams(), source="FeatureParams()"),
        ROOT / "firmware_core" / "port" / "bench" / "generated" / "vs_bench_data.h": gen_bench_data.render(),
    }


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="list stale generated files and exit 1; write nothing"
    )
    ap.add_argument("--defaults", action="store_true", help="also the default feature config and bench data")
    args = ap.parse_args(argv)
    try:
        files = render_all()
        if args.defaults:
            files.update(render_defaults())
    except (ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"gen_specs: error: {exc}", file=sys.stderr)
        return 1
    stale = [p for p, t in files.items() if not p.exists() or p.read_text(encoding="utf-8") != t]
    for path in stale:
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"stale: {rel}")
        else:
            write_atomic(path, files[path])
            print(f"wrote {rel}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
