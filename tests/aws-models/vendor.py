#!/usr/bin/env python3
"""Vendors the parts of botocore's AWS service models that berth uses.

For each service berth calls, reads botocore's `service-2.json(.gz)` and
`examples-1.json`, keeps the operations berth calls (the actions listed in
crates/berth-aws/src/policy.rs, `berth_aws::policy::ACTIONS`) and every
shape they reach (inputs, outputs, errors), drops the documentation
strings, and writes `<service>.json` and `<service>.examples.json` here,
each with the botocore version and the source file it came from.

Run with the Python of the moto venv tests/run creates (botocore comes with
moto):  target/moto-venv/bin/python tests/aws-models/vendor.py
"""
import glob
import gzip
import json
import os
import re

import botocore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.path.dirname(botocore.__file__), "data")

# IAM action prefix -> botocore service directory.
SERVICES = {
    "ecs": "ecs",
    "ecr": "ecr",
    "elasticloadbalancing": "elbv2",
    "servicediscovery": "servicediscovery",
    "logs": "logs",
    "application-autoscaling": "application-autoscaling",
}
DROP = {"documentation", "deprecatedMessage", "documentationUrl"}


def actions():
    text = open(os.path.join(ROOT, "crates/berth-aws/src/policy.rs")).read()
    ops = {}
    for prefix, op in re.findall(r'\("([a-z-]+):([A-Za-z]+)"', text):
        ops.setdefault(prefix, set()).add(op)
    return ops


def load(path):
    if os.path.exists(path):
        return json.load(open(path))
    return json.load(gzip.open(path + ".gz"))


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def refs(shape):
    for key in ("member", "key", "value"):
        if key in shape:
            yield shape[key]["shape"]
    for m in shape.get("members", {}).values():
        yield m["shape"]


def main():
    for prefix, ops in sorted(actions().items()):
        svc = SERVICES[prefix]
        [version_dir] = glob.glob(os.path.join(DATA, svc, "*"))
        model = load(os.path.join(version_dir, "service-2.json"))
        missing = sorted(ops - set(model["operations"]))
        if missing:
            raise SystemExit(f"{svc}: berth calls {missing}, not in botocore's model")
        keep_ops = {name: strip(model["operations"][name]) for name in sorted(ops)}
        todo = []
        for op in keep_ops.values():
            for key in ("input", "output"):
                if key in op:
                    todo.append(op[key]["shape"])
            todo += [e["shape"] for e in op.get("errors", [])]
        shapes = {}
        while todo:
            name = todo.pop()
            if name in shapes:
                continue
            shapes[name] = strip(model["shapes"][name])
            todo += list(refs(shapes[name]))
        source = os.path.relpath(os.path.join(version_dir, "service-2.json"), DATA)
        out = {
            "vendored": {"botocore": botocore.__version__, "source": f"botocore/data/{source}", "by": "tests/aws-models/vendor.py"},
            "metadata": strip(model["metadata"]),
            "operations": keep_ops,
            "shapes": dict(sorted(shapes.items())),
        }
        with open(os.path.join(HERE, f"{svc}.json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=False)
            f.write("\n")
        examples_path = os.path.join(version_dir, "examples-1.json")
        examples = json.load(open(examples_path)).get("examples", {}) if os.path.exists(examples_path) else {}
        kept = {op: examples[op] for op in sorted(ops) if op in examples}
        ex_out = {
            "vendored": {
                "botocore": botocore.__version__,
                "source": f"botocore/data/{os.path.relpath(examples_path, DATA)}",
                "by": "tests/aws-models/vendor.py",
                "operations_without_examples": sorted(ops - set(kept)),
            },
            "examples": kept,
        }
        with open(os.path.join(HERE, f"{svc}.examples.json"), "w") as f:
            json.dump(ex_out, f, indent=1)
            f.write("\n")
        print(f"{svc}: {len(keep_ops)} operations, {len(shapes)} shapes, examples for {len(kept)}")


if __name__ == "__main__":
    main()
