"""Extracts standalone Kubernetes JSON schemas from the kubernetes-validate wheel, for kubeconform.

The wheel's schemas point into a shared `/api/_definitions.json`, which kubeconform cannot resolve from
disk; each schema written here carries the definitions it needs (transitively) under `definitions` (draft 4, as kubeconform reads it).
usage: python k8s_schemas.py WHEEL_DIR VERSION_DIR OUT_DIR
"""
from __future__ import annotations

import glob
import json
import os
import sys
import zipfile

# Kind schemas point at the shared file; definitions point at each other inside it.
PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def definition_name(ref) -> str | None:
    for prefix in PREFIXES:
        if isinstance(ref, str) and ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def refs(node, found: set) -> None:
    if isinstance(node, dict):
        name = definition_name(node.get("$ref"))
        if name:
            found.add(name)
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def localize(node):
    if isinstance(node, dict):
        return {k: ("#/definitions/" + definition_name(v) if k == "$ref" and definition_name(v) else localize(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [localize(v) for v in node]
    return node


def standalone(schema: dict, definitions: dict) -> dict:
    needed: set = set()
    refs(schema, needed)
    pending = list(needed)
    while pending:
        more: set = set()
        refs(definitions[pending.pop()], more)
        for name in more - needed:
            needed.add(name)
            pending.append(name)
    result = {k: v for k, v in localize(schema).items() if k not in ("$schema", "$id")}  # read as draft 4
    result["definitions"] = {name: localize(definitions[name]) for name in sorted(needed)}
    return result


def main(argv: list[str]) -> int:
    wheel_dir, version_dir, out_dir = argv
    wheel, = glob.glob(os.path.join(wheel_dir, "*.whl"))
    prefix = "kubernetes_validate/kubernetes-json-schema/%s/" % version_dir
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
        if not names:
            print("k8s_schemas: %s not in %s" % (version_dir, wheel), file=sys.stderr)
            return 1
        definitions = json.loads(z.read(prefix + "_definitions.json"))["$defs"]
        os.makedirs(out_dir, exist_ok=True)
        written = 0
        for name in names:
            base = name[len(prefix):]
            if base.startswith("_") or base == "all.json":
                continue
            with open(os.path.join(out_dir, base), "w", encoding="utf-8") as f:
                json.dump(standalone(json.loads(z.read(name)), definitions), f)
            written += 1
    print("k8s_schemas: %d standalone schemas into %s" % (written, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
