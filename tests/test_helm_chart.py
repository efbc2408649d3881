"""The Helm chart (deploy/helm/matcher) renders, lints, and every object it renders is valid
Kubernetes, for each way of running it (deploy/helm/matcher/ci/*.yaml).

Rendering and linting use Helm's own Go library (helm-python-sdk binds Helm v4's SDK; no
cluster is contacted). Validation is kubernetes-validate's JSON Schemas of the Kubernetes
OpenAPI, strict (unknown fields are errors), for the pinned version below and the oldest the
chart admits. The probes, security context and resources are checked against what the
service needs, and the sizes against benchmarks/results/footprint.json, so a re-measured
footprint that outgrows the chart fails here.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from kubernetes_validate import utils as k8s

from matcher.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "matcher"
SCENARIOS = sorted(p.stem for p in (CHART / "ci").glob("*.yaml"))
PINNED_KUBERNETES = "1.34.0"  # validated against; kubernetes-validate==1.37.0 ships its schemas
OLDEST_KUBERNETES = "1.27.0"  # Chart.yaml kubeVersion >=1.27.0-0
FOOTPRINT = json.loads((ROOT / "benchmarks" / "results" / "footprint.json").read_text())
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}  # not in Kubernetes' own schemas
CHART_SETS = {"MATCHER_HOST", "MATCHER_PORT", "MATCHER_REGISTRY_PATH"}
FROM_SECRET = {"MATCHER_API_KEYS", "MATCHER_ADMIN_TOKEN"}
IMAGE_UID = 10001  # the Dockerfile's USER


def scenario_values(name: str, *extra: dict[str, Any]) -> dict[str, Any]:
    """A ci/ values file, with overrides merged in (one level deep is all the tests need)."""
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / f"{name}.yaml").read_text())
    for more in extra:
        for key, value in more.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}
            else:
                values[key] = value
    return values


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders for `values` (NOTES.txt left out)."""
    chart = helm.Chart.load(CHART)
    files = chart.render(values, name="matcher", namespace="placements", is_install=True)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


@cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    """The objects of one ci/ scenario (rendered once per session)."""
    return tuple(render(scenario_values(name)))


def one(objects: tuple[dict[str, Any], ...] | list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of `kind`."""
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, (kind, [o["kind"] for o in objects])
    return found[0]


def pod_spec(objects: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    """The Deployment's pod spec."""
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """A container's env as {name: value or valueFrom}."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity in MiB."""
    units = {"Ki": 2**-10, "Mi": 1, "Gi": 2**10, "Ti": 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", quantity)
    assert match, quantity
    return float(match.group(1)) * units.get(match.group(2) or "", 2**-20)


def measured(listings: int) -> dict[str, Any]:
    """The footprint benchmark's row for `listings`."""
    row: dict[str, Any] = next(r for r in FOOTPRINT["sizes"] if r["listings"] == listings)
    return row


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("version", [PINNED_KUBERNETES, OLDEST_KUBERNETES])
def test_every_object_is_valid_kubernetes(name: str, version: str) -> None:
    """Strict schema validation of every rendered object (a CRD only by its shape)."""
    objects = rendered(name)
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "NetworkPolicy"}
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CRDS:
            assert obj["spec"]["endpoints"][0]["path"] == "/metrics"
            continue
        k8s.validate(obj, version, strict=True)  # raises ValidationError naming the field


def test_validation_catches_a_wrong_field() -> None:
    """The validator is not a rubber stamp: a misspelt field and a wrong type both fail."""
    deployment = json.loads(json.dumps(one(rendered("embedded-values"), "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(k8s.ValidationError):
        k8s.validate(deployment, PINNED_KUBERNETES, strict=True)
    service = json.loads(json.dumps(one(rendered("embedded-values"), "Service")))
    service["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(k8s.ValidationError):
        k8s.validate(service, PINNED_KUBERNETES, strict=True)


@pytest.mark.parametrize("name", SCENARIOS)
def test_chart_lints_clean(name: str) -> None:
    """`helm lint --strict` for the pinned Kubernetes: no warnings, no errors."""
    report = helm.lint(
        CHART, scenario_values(name), strict=True, kube_version=f"v{PINNED_KUBERNETES}"
    )
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_probes() -> None:
    """Startup and liveness on /healthz, readiness on /readyz, on the container's port."""
    container = pod_spec(rendered("embedded-values"))["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["readinessProbe"]["failureThreshold"] * 5 <= 10  # out within 10 s


@pytest.mark.parametrize(
    ("listings", "extra_values"),
    [
        (100_000, {}),  # the chart's defaults
        (1_000_000, yaml.safe_load((CHART / "values-1m.yaml").read_text())),
    ],
)
def test_sizes_cover_the_measured_footprint(listings: int, extra_values: dict[str, Any]) -> None:
    """Startup budget >= 3x the measured time to /readyz; memory limit = request >= 1.15x
    the measured start-up RSS peak (below it the pod is killed before it is ready)."""
    objects = render(scenario_values("volume-values", extra_values))
    container = pod_spec(objects)["containers"][0]
    row = measured(listings)
    startup = container["startupProbe"]
    assert startup["failureThreshold"] * startup["periodSeconds"] >= 3 * row["seconds_to_readyz"]
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert mebibytes(limits["memory"]) == mebibytes(requests["memory"])
    assert mebibytes(limits["memory"]) >= 1.15 * row["rss_peak_startup_mib"]
    assert float(requests["cpu"]) >= 1
    fetch = pod_spec(objects)["initContainers"][-1]
    assert mebibytes(fetch["resources"]["limits"]["memory"]) >= row["rss_peak_startup_mib"]
    deadline = one(objects, "Deployment")["spec"]["progressDeadlineSeconds"]
    assert deadline > startup["failureThreshold"] * startup["periodSeconds"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_non_root_read_only_no_capabilities(name: str) -> None:
    """Pod and every container: non-root uid 10001, read-only root, nothing to escalate."""
    spec = pod_spec(rendered(name))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == IMAGE_UID
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False  # no MATCHER_PORT=tcp://... from a Service
    for container in spec["containers"] + spec.get("initContainers", []):
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}


def test_every_setting_is_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The container sets every MATCHER_* setting the service has, and with the chart's
    defaults the service's settings are its own defaults (but for where it listens)."""
    container = pod_spec(rendered("embedded-values"))["containers"][0]
    env = env_of(container)
    names = {n for n in env if n.startswith("MATCHER_")}
    fields = {f"MATCHER_{name.upper()}" for name in Settings.model_fields}
    assert names | {"MATCHER_REGISTRY_PATH"} == fields
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"MATCHER_{name.upper()}", raising=False)
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    from_chart = Settings().model_dump(exclude={"host"})
    for name in env:
        monkeypatch.delenv(name, raising=False)
    assert from_chart == Settings().model_dump(exclude={"host"})
    assert env["MATCHER_HOST"] == "0.0.0.0"  # noqa: S104 (inside the pod, behind the Service)


def test_credentials_come_from_the_secret() -> None:
    """Keys and token are secretKeyRefs; an empty token is left out of the Secret (an empty
    MATCHER_ADMIN_TOKEN must not switch the admin routes on)."""
    objects = rendered("embedded-values")
    env = env_of(pod_spec(objects)["containers"][0])
    for name, key in (("MATCHER_API_KEYS", "api-keys"), ("MATCHER_ADMIN_TOKEN", "admin-token")):
        ref = env[name]["secretKeyRef"]
        assert ref == {"name": "matcher", "key": key, "optional": True}
    assert set(one(objects, "Secret")["data"]) == {"api-keys"}
    assert set(one(rendered("volume-values"), "Secret")["data"]) == {"api-keys", "admin-token"}
    url = rendered("url-values")
    assert [o for o in url if o["kind"] == "Secret"] == []  # existingSecret: none rendered
    assert env_of(pod_spec(url)["containers"][0])["MATCHER_API_KEYS"]["secretKeyRef"] == {
        "name": "matcher-credentials",
        "key": "api-keys",
        "optional": True,
    }


def test_open_api_must_be_asked_for() -> None:
    """Without client keys the chart refuses to render unless requireApiKeys is false."""
    with pytest.raises(helm.HelmError, match=re.escape("secrets.apiKeys")):
        render({})
    assert render({"secrets": {"requireApiKeys": False}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"snapshot": {"source": "volume"}}, "snapshot.version"),
        ({"snapshot": {"source": "url", "version": "6f85a1ce7ca4c8a6"}}, "snapshot.version"),
        (
            {"snapshot": {"source": "url", "version": "sha256:6f85a1ce7ca4c8a6"}},
            "https://",
        ),
        ({"snapshot": {"source": "s3"}}, "snapshot.source"),
        ({"config": {"workers": 2}}, "config.workers"),
        ({"config": {"watchRegistry": True}}, "config.watchRegistry"),
    ],
)
def test_render_refuses_a_broken_deployment(values: dict[str, Any], message: str) -> None:
    """Each mistake stops `helm template` naming the value, instead of a pod that fails."""
    with pytest.raises(helm.HelmError, match=re.escape(message)):
        render(scenario_values("embedded-values", values))


@pytest.mark.parametrize("name", ["volume-values", "url-values", "command-values"])
def test_snapshot_is_fetched_checked_and_mounted_read_only(name: str) -> None:
    """The init container gets the version to check; the service reads the file it placed,
    from a volume the service itself cannot write."""
    objects = rendered(name)
    spec = pod_spec(objects)
    fetch = spec["initContainers"][-1]
    fenv = env_of(fetch)
    assert fetch["command"] == ["python3", "/opt/matcher-deploy/fetch-snapshot.py"]
    assert fenv["SNAPSHOT_VERSION"] == "sha256:6f85a1ce7ca4c8a6"
    main = spec["containers"][0]
    assert env_of(main)["MATCHER_REGISTRY_PATH"] == fenv["SNAPSHOT_DEST"]
    mount = next(m for m in main["volumeMounts"] if m["name"] == "snapshot")
    assert mount["readOnly"] is True and fenv["SNAPSHOT_DEST"].startswith(mount["mountPath"])
    script = one(objects, "ConfigMap")["data"]["fetch-snapshot.py"]
    assert script == (CHART / "files" / "fetch-snapshot.py").read_text()


def test_new_snapshot_version_rolls_pods_one_at_a_time() -> None:
    """Changing snapshot.version changes the pod template (a rolling update) and nothing
    else about the Deployment; the update surges one new pod and never drops a serving one."""
    a = one(render(scenario_values("volume-values")), "Deployment")
    new = {"snapshot": {"version": "sha256:0123456789abcdef"}}
    b = one(render(scenario_values("volume-values", new)), "Deployment")
    key = "matcher.example.org/snapshot-version"
    assert a["spec"]["template"]["metadata"]["annotations"][key] == "sha256:6f85a1ce7ca4c8a6"
    assert b["spec"]["template"]["metadata"]["annotations"][key] == "sha256:0123456789abcdef"
    assert a["spec"]["selector"] == b["spec"]["selector"]
    assert a["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    b["spec"]["template"]["metadata"]["annotations"][key] = "sha256:6f85a1ce7ca4c8a6"
    env_b = env_of(b["spec"]["template"]["spec"]["initContainers"][-1])
    assert env_b["SNAPSHOT_VERSION"] == "sha256:0123456789abcdef"
    b["spec"]["template"]["spec"]["initContainers"][-1] = a["spec"]["template"]["spec"][
        "initContainers"
    ][-1]
    assert a == b


def test_scaling_disruption_and_metrics() -> None:
    """HPA on CPU owns the replica count; PDB keeps all but one; /metrics is annotated."""
    objects = rendered("embedded-values")
    deployment = one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    metric = hpa["spec"]["metrics"][0]["resource"]
    assert metric == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == "8000"
    assert one(objects, "Service")["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    fixed = rendered("url-values")
    assert one(fixed, "Deployment")["spec"]["replicas"] == 4
    assert [o for o in fixed if o["kind"] == "HorizontalPodAutoscaler"] == []


def test_network_policy() -> None:
    """Ingress only on 8000 from the listed sources; HTTPS egress only when downloading;
    no sources listed means none admitted (an empty `from` would admit everyone)."""
    policy = one(rendered("embedded-values"), "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert len(policy["ingress"][0]["from"]) == 2
    assert [p["port"] for rule in policy["egress"] for p in rule["ports"]] == [53, 53]
    url = one(rendered("url-values"), "NetworkPolicy")["spec"]
    assert url["egress"][1] == {
        "ports": [{"port": 443, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
    }
    assert one(rendered("command-values"), "NetworkPolicy")["spec"]["ingress"] == []


def test_startup_budget_is_whole_periods() -> None:
    """failureThreshold is the budget rounded up to whole periods (112 s / 5 s: 23)."""
    startup_values = {"path": "/healthz", "periodSeconds": 5, "timeoutSeconds": 3}
    startup_values["budgetSeconds"] = 112
    values = scenario_values("embedded-values", {"probes": {"startup": startup_values}})
    startup = pod_spec(render(values))["containers"][0]["startupProbe"]
    assert startup["failureThreshold"] == math.ceil(112 / 5) == 23
