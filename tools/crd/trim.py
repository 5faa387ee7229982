"""Trim an Argo Rollouts CRD before kopium generates Rust types from it.

The Rollout and AnalysisRun CRDs inline whole PodTemplateSpecs and Job specs
(tens of thousands of schema lines). rollwise never reads them through the
generated types (pods are read as k8s-openapi Pods, and a template that must
be inspected is deserialised as a k8s-openapi PodTemplateSpec from the raw
value), so every such subtree becomes an opaque, preserved object. Everything
else is kept exactly as the CRD says.

usage: python3 trim.py CRD.yaml > trimmed.yaml
"""
import sys

import yaml

OPAQUE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def is_pod_template(schema):
    props = schema.get("properties") or {}
    return "spec" in props and "metadata" in props and (
        "containers" in ((props["spec"] or {}).get("properties") or {})
    )


def is_job_spec(schema):
    props = schema.get("properties") or {}
    return "template" in props and "backoffLimit" in props


def trim(schema):
    if not isinstance(schema, dict):
        return schema
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in list(props.items()):
            if isinstance(sub, dict) and (is_pod_template(sub) or is_job_spec(sub)):
                desc = sub.get("description")
                props[name] = dict(OPAQUE, **({"description": desc} if desc else {}))
            else:
                trim(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            trim(schema[key])
    return schema


def main():
    with open(sys.argv[1]) as f:
        crd = yaml.safe_load(f)
    for version in crd["spec"]["versions"]:
        trim(version["schema"]["openAPIV3Schema"])
    yaml.safe_dump(crd, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
