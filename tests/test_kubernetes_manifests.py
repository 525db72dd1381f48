"""The kubernetes profile's files, checked without a cluster or helm (neither exists here):
the Zero to JupyterHub values against a schema of the chart's keys we use, the extra Hub
config snippets compiled and run, the grading workers' manifests against the Kubernetes
fields they need, and the two files against each other."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml

K8S = Path(__file__).resolve().parent.parent / "images" / "kubernetes"
DNS1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"

# The keys of the jupyterhub chart (4.x, values.schema.yaml) that the values file uses, with
# the chart's types and enums; unknown keys are errors, so a typo ("singleUser") fails here
# as it fails `helm install`.
IMAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "tag"],
    "properties": {
        "name": {"type": "string"},
        "tag": {"type": "string"},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    },
}
ENV = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["valueFrom"],
                "properties": {"valueFrom": {"type": "object"}},
            },
        ]
    },
}
SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "pattern": "^https?://"},
        "command": {"type": "array", "items": {"type": "string"}},
        "oauth_no_confirm": {"type": "boolean"},
        "display": {"type": "boolean"},
        "admin": {"type": "boolean"},
        "api_token": {"type": "string"},
        "environment": {"type": "object"},
    },
}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "hub": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "image": IMAGE,
                "db": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "type": {
                            "enum": ["sqlite-pvc", "sqlite-memory", "mysql", "postgres", "other"]
                        },
                        "url": {"type": "string"},
                    },
                },
                "extraEnv": ENV,
                "extraVolumes": {"type": "array"},
                "extraVolumeMounts": {"type": "array"},
                "config": {"type": "object"},
                "services": {"type": "object", "additionalProperties": SERVICE},
                "networkPolicy": {"type": "object"},
                "extraConfig": {"type": "object", "additionalProperties": {"type": "string"}},
                "resources": {"type": "object"},
            },
        },
        "proxy": {"type": "object"},
        "singleuser": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "image": IMAGE,
                "cmd": {"type": ["string", "array"]},
                "defaultUrl": {"type": "string"},
                "uid": {"type": "integer"},
                "fsGid": {"type": "integer"},
                "storage": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "type": {"enum": ["dynamic", "static", "none"]},
                        "capacity": {"type": "string", "pattern": QUANTITY},
                        "homeMountPath": {"type": "string"},
                        "dynamic": {"type": "object"},
                    },
                },
                "cpu": {"type": "object"},
                "memory": {"type": "object"},
                "startTimeout": {"type": "integer"},
                "networkPolicy": {"type": "object"},
                "extraEnv": ENV,
            },
        },
        "scheduling": {"type": "object"},
        "prePuller": {"type": "object"},
        "cull": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "users": {"type": "boolean"},
                "timeout": {"type": "integer", "minimum": 1},
                "every": {"type": "integer", "minimum": 1},
                "concurrency": {"type": "integer", "minimum": 1},
                "maxAge": {"type": "integer", "minimum": 0},
                "adminUsers": {"type": "boolean"},
                "removeNamedServers": {"type": "boolean"},
            },
        },
    },
}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load((K8S / "values.yaml").read_text())


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / "grader-workers.yaml").read_text()) if d]


def test_values_match_the_charts_schema(values: dict[str, Any]) -> None:
    jsonschema.validate(values, SCHEMA)
    # what the kubernetes profile promises
    assert values["hub"]["db"]["type"] == "postgres"
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"].startswith("nbcampus.")
    assert {"campus", "grader"} <= set(values["hub"]["services"])
    assert values["singleuser"]["storage"]["type"] == "dynamic"
    assert values["singleuser"]["image"]["name"].endswith("nbcampus-student")
    assert values["cull"]["enabled"] and values["cull"]["timeout"] == 3600


def test_schema_catches_a_typo(values: dict[str, Any]) -> None:
    broken = {**values, "singleUser": values["singleuser"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    broken = {**values, "cull": {**values["cull"], "timeout": "an hour"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_extra_config_snippets_compile_and_name_real_code(values: dict[str, Any]) -> None:
    import importlib
    import importlib.util

    for name, code in values["hub"]["extraConfig"].items():
        compile(code, f"extraConfig.{name}", "exec")
        for module, names in re.findall(r"^from (nbcampus[\w.]*) import (.+)$", code, re.M):
            mod = importlib.import_module(module)
            for attr in (n.strip() for n in names.split(",")):
                assert hasattr(mod, attr), f"{module}.{attr} (extraConfig {name})"
    for service in values["hub"]["services"].values():
        module = service["command"][2]
        assert importlib.util.find_spec(module), module


def test_role_limits_hook_gives_instructors_more(values: dict[str, Any]) -> None:
    from traitlets.config import Config

    c = Config()
    exec(values["hub"]["extraConfig"]["01-limits-per-role"], {"c": c})  # noqa: S102
    hook = c.KubeSpawner.pre_spawn_hook

    def spawner(*groups: str) -> SimpleNamespace:
        user = SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups])
        return SimpleNamespace(user=user, cpu_limit=None, mem_limit=None)

    student, teacher = spawner("campus-student"), spawner("campus-student", "campus-instructor")
    hook(student)
    hook(teacher)
    assert (student.cpu_limit, student.mem_limit) == (1.0, "2G")
    assert (teacher.cpu_limit, teacher.mem_limit) == (2.0, "4G")


KINDS = {
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}


def _bytes(q: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", q)
    assert m, q
    return float(m.group(1)) * units.get(m.group(2), 1)


def _cpu(q: str | int) -> float:
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_worker_manifests_are_valid_kubernetes(manifests: list[dict[str, Any]]) -> None:
    assert {(d["apiVersion"], d["kind"]) for d in manifests} == KINDS
    by_kind = {d["kind"]: d for d in manifests}
    for doc in manifests:
        assert re.match(DNS1123, doc["metadata"]["name"]), doc["metadata"]["name"]
    deploy = by_kind["Deployment"]
    selector = deploy["spec"]["selector"]["matchLabels"]
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items(), "the selector must match the pod template"
    for container in deploy["spec"]["template"]["spec"]["containers"]:
        assert re.match(DNS1123, container["name"])
        res = container["resources"]
        assert _cpu(res["requests"]["cpu"]) <= _cpu(res["limits"]["cpu"])
        assert _bytes(res["requests"]["memory"]) <= _bytes(res["limits"]["memory"])
        mounted = {m["name"] for m in container["volumeMounts"]}
        declared = {v["name"] for v in deploy["spec"]["template"]["spec"]["volumes"]}
        assert mounted <= declared
    hpa = by_kind["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == deploy["metadata"]["name"]
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    policy = by_kind["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"} and policy["ingress"] == []


def test_values_and_workers_agree(values: dict[str, Any], manifests: list[dict]) -> None:
    by_kind = {d["kind"]: d for d in manifests}
    pvc = by_kind["PersistentVolumeClaim"]
    hub_claims = {v["persistentVolumeClaim"]["claimName"] for v in values["hub"]["extraVolumes"]}
    assert pvc["metadata"]["name"] in hub_claims
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]  # the Hub pod and the workers share it
    worker = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    image = values["singleuser"]["image"]
    assert worker["image"] == f"{image['name']}:{image['tag']}"
    secret = values["hub"]["extraEnv"]["NBCAMPUS_DB_URL"]["valueFrom"]["secretKeyRef"]
    env = {e["name"]: e for e in worker["env"]}
    assert env["NBCAMPUS_DB_URL"]["valueFrom"]["secretKeyRef"] == secret
