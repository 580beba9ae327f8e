"""Converts CustomResourceDefinitions to strict JSON schemas for kubeconform.

Writes <out>/<group>/<kind>_<version>.json for every served version. Strict: every object schema that
lists its properties and does not say otherwise gets `additionalProperties: false`, so a misspelled field
fails validation as the API server's field validation would.
usage: python crd_to_jsonschema.py OUT_DIR CRD.yaml...
"""
from __future__ import annotations

import json
import os
import sys

import yaml


def strict(schema):
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def convert(crd: dict, out_dir: str) -> list[str]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
    written = []
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema["properties"]["apiVersion"] = {"type": "string", "enum": ["%s/%s" % (group, version["name"])]}
        schema["properties"]["kind"] = {"type": "string", "enum": [crd["spec"]["names"]["kind"]]}
        # metadata is validated by the API server's ObjectMeta rules, not by the CRD schema.
        schema["properties"]["metadata"] = {"type": "object"}
        path = os.path.join(out_dir, group, "%s_%s.json" % (kind, version["name"]))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(schema, f, indent=1)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    out_dir, files = argv[0], argv[1:]
    count = 0
    for name in files:
        with open(name, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    count += len(convert(doc, out_dir))
    if count == 0:
        print("crd_to_jsonschema: no CustomResourceDefinition in %s" % " ".join(files), file=sys.stderr)
        return 1
    print("crd_to_jsonschema: %d schemas into %s" % (count, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
