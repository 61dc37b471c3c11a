#!/usr/bin/env python3
"""Checks that schemas/livekit/*.proto is a faithful subset of LiveKit's protocol.

Compiles our schemas with protoc into a descriptor set and compares every message, field, oneof
and enum value in it with the descriptors shipped in the pinned PyPI package `livekit-protocol`
(the same generated code LiveKit's Python SDKs use). A field of ours must exist upstream with the
same number, name, type, label, type name, optional-ness and oneof; an enum value must have the
same number. Anything upstream has and we leave out is only counted (it round-trips as unknown
fields). Exit status 1 and one line per difference on failure.

Run with the peers' interpreter:
`.venv-peers/bin/python scripts/check-protos.py [--verbose] [--schemas DIR] [--upstream SET]`,
where SET is a descriptor set compiled from a livekit/protocol checkout (`protoc
--include_imports --descriptor_set_out=SET livekit_rtc.proto`) to compare with a newer protocol.
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas" / "livekit"


def compile_ours(schemas: pathlib.Path) -> descriptor_pb2.FileDescriptorSet:
    protoc = shutil.which("protoc")
    if protoc is None:
        raise SystemExit("protoc missing: apt-get install protobuf-compiler")
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "ours.pb"
        files = sorted(p.name for p in schemas.glob("*.proto"))
        if not files:
            raise SystemExit(f"no .proto files in {schemas}")
        subprocess.run([protoc, f"-I{schemas}", f"--descriptor_set_out={out}", "--include_imports", *files],
                       check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
        return fds


def upstream_files() -> list[descriptor_pb2.FileDescriptorProto]:
    from livekit.protocol import models, rtc  # the pinned livekit-protocol package

    files = []
    for module in (models, rtc):
        fdp = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fdp)
        files.append(fdp)
    return files


def index(files) -> tuple[dict, dict]:
    """Full name (".livekit.X.Y") → message / enum descriptor proto, nested ones included."""
    messages, enums = {}, {}

    def walk(prefix, msg):
        name = f"{prefix}.{msg.name}"
        messages[name] = msg
        for nested in msg.nested_type:
            walk(name, nested)
        for enum in msg.enum_type:
            enums[f"{name}.{enum.name}"] = enum

    for f in files:
        prefix = f".{f.package}" if f.package else ""
        for msg in f.message_type:
            walk(prefix, msg)
        for enum in f.enum_type:
            enums[f"{prefix}.{enum.name}"] = enum
    return messages, enums


def oneof_name(msg, field):
    if field.HasField("oneof_index") and not field.proto3_optional:
        return msg.oneof_decl[field.oneof_index].name
    return None


def compare(ours_files, theirs_files, verbose=False) -> list[str]:
    ours_msgs, ours_enums = index(ours_files)
    theirs_msgs, theirs_enums = index(theirs_files)
    problems, fields_checked, left_out = [], 0, 0

    for name, msg in sorted(ours_msgs.items()):
        if not name.startswith(".livekit."):
            continue
        up = theirs_msgs.get(name)
        if up is None:
            problems.append(f"message {name}: not in upstream")
            continue
        if msg.options.map_entry != up.options.map_entry:
            problems.append(f"message {name}: map entry {msg.options.map_entry} vs {up.options.map_entry}")
        by_number = {f.number: f for f in up.field}
        for field in msg.field:
            where = f"{name}.{field.name} (= {field.number})"
            uf = by_number.get(field.number)
            if uf is None:
                problems.append(f"{where}: no field with this number upstream")
                continue
            fields_checked += 1
            for attr in ("name", "type", "label", "type_name", "proto3_optional"):
                a, b = getattr(field, attr), getattr(uf, attr)
                if a != b:
                    problems.append(f"{where}: {attr} is {a!r}, upstream {b!r}")
            if oneof_name(msg, field) != oneof_name(up, uf):
                problems.append(f"{where}: oneof {oneof_name(msg, field)!r}, upstream {oneof_name(up, uf)!r}")
            if field.options.deprecated != uf.options.deprecated:
                problems.append(f"{where}: deprecated {field.options.deprecated}, upstream {uf.options.deprecated}")
        ours_numbers = {f.number for f in msg.field}
        missing = [f"{f.name}={f.number}" for f in up.field if f.number not in ours_numbers]
        left_out += len(missing)
        if verbose and missing:
            print(f"  {name}: left out {', '.join(missing)}")

    for name, enum in sorted(ours_enums.items()):
        if not name.startswith(".livekit."):
            continue
        up = theirs_enums.get(name)
        if up is None:
            problems.append(f"enum {name}: not in upstream")
            continue
        up_values = {v.name: v.number for v in up.value}
        for value in enum.value:
            if up_values.get(value.name) != value.number:
                problems.append(f"enum {name}.{value.name} = {value.number}: upstream {up_values.get(value.name)}")
        if len(enum.value) != len(up.value):
            # Enums are kept whole: a value we lack would decode as an unnamed number.
            problems.append(f"enum {name}: {len(enum.value)} values, upstream {len(up.value)}")

    print(f"checked {sum(1 for n in ours_msgs if n.startswith('.livekit.'))} messages, {fields_checked} fields, "
          f"{sum(1 for n in ours_enums if n.startswith('.livekit.'))} enums; {left_out} upstream fields left out")
    return problems


def main() -> int:
    args = sys.argv[1:]
    verbose = "--verbose" in args
    schemas = pathlib.Path(args[args.index("--schemas") + 1]) if "--schemas" in args else SCHEMAS
    if "--upstream" in args:
        theirs = descriptor_pb2.FileDescriptorSet()
        theirs.ParseFromString(pathlib.Path(args[args.index("--upstream") + 1]).read_bytes())
        upstream = list(theirs.file)
    else:
        upstream = upstream_files()
    problems = compare(compile_ours(schemas).file, upstream, verbose)
    for p in problems:
        print(p)
    print("OK" if not problems else f"{len(problems)} differences")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
