"""The Helm chart (deploy/helm/mathesar) through Helm's own engine (the Go SDK,
from PyPI's helm-python-sdk): rendered with several value sets, linted with
no warnings, every manifest validated against Kubernetes 1.30 to 1.34's own
schemas (strict: an unknown field fails), and bad values refused by
values.schema.json with a message that names them."""
import base64
import shutil
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "mathesar"
KUBE_VERSIONS = ["1.30", "1.31", "1.32", "1.33", "1.34"]

VALUE_SETS = {
    "defaults (bundled, one pod)": {},
    "external, 2 replicas, generated key, password value": {
        "database": {"mode": "external", "host": "db.internal", "password": "pw-from-values"}, "replicas": 2},
    "external, existing Secrets, Ingress with TLS, 3 replicas": {
        "database": {"mode": "external", "host": "pg.example.com", "port": 6432, "sslmode": "verify-full",
                     "existingSecret": "pg-credentials", "existingSecretKey": "pw"},
        "secretKey": {"existingSecret": "mathesar-key", "existingSecretKey": "key"},
        "replicas": 3, "host": "mathesar.example.com",
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "tls", "hosts": ["mathesar.example.com"]}]},
        "persistence": {"storageClass": "nfs", "size": "50Gi"}, "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}},
    "bundled on an existing claim, OpenShift (uid chosen by the platform)": {
        "persistence": {"existingClaim": "mathesar-data"}, "podSecurityContext": {"runAsUser": None, "fsGroup": None},
        "extraEnv": [{"name": "MATHESAR_LOG_FORMAT", "value": "json"}]},
    "external, no Job, no persistence, longer stop": {
        "database": {"mode": "external", "host": "10.0.0.5", "password": "p"}, "migrations": {"job": False},
        "persistence": {"enabled": False}, "stopTimeout": 30},
}


def render(values, name="mathesar"):
    chart = helm.Chart.load(str(CHART))
    out = chart.render(values, name=name, namespace="apps", is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs += [(path, d) for d in yaml.safe_load_all(text) if d]
    return docs


def kinds(docs):
    return {d["kind"]: d for _, d in docs}


def pod_specs(docs):
    for _, d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield d["kind"], d["spec"]["template"]["spec"]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("label", VALUE_SETS)
def test_renders_and_every_manifest_validates_strictly_on_each_kubernetes_version(label):
    docs = render(VALUE_SETS[label])
    assert docs
    for path, doc in docs:
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any bad or unknown field


@pytest.mark.parametrize("label", VALUE_SETS)
def test_lint_has_no_warnings_or_errors(label):
    report = helm.lint(str(CHART), VALUE_SETS[label], strict=True, namespace="apps", kube_version="v1.34.0")
    bad = [m for m in report["messages"] if m["severity"] >= 2]
    assert not bad and not report["errors"], report


@pytest.mark.parametrize("label", VALUE_SETS)
def test_every_pod_is_restricted_and_outlives_mathesar_inits_stop(label):
    values = VALUE_SETS[label]
    for kind, spec in pod_specs(render(values)):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["terminationGracePeriodSeconds"] > values.get("stopTimeout", 9)
        mounts_by_volume = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            mounted = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            # the writable places a read-only root needs
            assert {"/run/mathesar", "/tmp", "/var/lib/mathesar"} <= set(mounted)
            assert "emptyDir" in mounts_by_volume[mounted["/run/mathesar"]]
            env = env_of(c)
            assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"], kind
            assert env["MATHESAR_STOP_TIMEOUT"]["value"] == str(values.get("stopTimeout", 9))
            if "POSTGRES_PASSWORD" in env:
                assert "value" not in env["POSTGRES_PASSWORD"]  # from a Secret, never inline
            if kind != "Job":
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert c[probe]["exec"]["command"] == ["mathesar-init", "healthcheck"]
                # room for a first boot or a PostgreSQL major upgrade
                startup = c["startupProbe"]
                assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    if "runAsUser" in values.get("podSecurityContext", {}):
        for _, spec in pod_specs(render(values)):
            assert "runAsUser" not in spec["securityContext"]  # the platform's arbitrary uid


def test_bundled_is_one_statefulset_replica_with_its_volume():
    k = kinds(render({}))
    assert "Deployment" not in k and "Job" not in k
    sts = k["StatefulSet"]
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    env = env_of(sts["spec"]["template"]["spec"]["containers"][0])
    assert "POSTGRES_HOST" not in env


def test_external_migrates_in_a_hook_job_once_and_the_pods_only_if_changed():
    docs = render(VALUE_SETS["external, 2 replicas, generated key, password value"])
    k = kinds(docs)
    job, deploy, secret = k["Job"], k["Deployment"], k["Secret"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert deploy["spec"]["replicas"] == 2
    assert env_of(deploy["spec"]["template"]["spec"]["containers"][0])["MATHESAR_MIGRATE"]["value"] == "changed"
    # the Secret is a hook too (before the Job: lower weight), kept on uninstall
    ann = secret["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade" and int(ann["helm.sh/hook-weight"]) < 0
    assert ann["helm.sh/resource-policy"] == "keep"
    key = base64.b64decode(secret["data"]["secret-key"]).decode()
    assert len(key) == 50 and key.isalnum()
    assert base64.b64decode(secret["data"]["postgres-password"]).decode() == "pw-from-values"
    # uploads shared by the replicas
    assert k["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_existing_secrets_are_used_and_the_chart_makes_none():
    k = kinds(render(VALUE_SETS["external, existing Secrets, Ingress with TLS, 3 replicas"]))
    assert "Secret" not in k
    env = env_of(k["Deployment"]["spec"]["template"]["spec"]["containers"][0])
    assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "mathesar-key", "key": "key"}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "pg-credentials", "key": "pw"}
    # the Ingress host feeds ALLOWED_HOSTS
    assert env["ALLOWED_HOSTS"]["value"] == "mathesar.example.com"
    assert k["Ingress"]["spec"]["rules"][0]["host"] == "mathesar.example.com"


BAD_VALUES = [
    ({"replicas": 3}, "/replicas"),  # bundled mode: exactly one
    ({"replicas": "two"}, "/replicas"),
    ({"replicas": 0}, "/replicas"),
    ({"database": {"mode": "sqlite"}}, "/database/mode"),
    ({"database": {"sslmode": "sometimes"}}, "/database/sslmode"),
    ({"database": {"port": 70000}}, "/database/port"),
    ({"persistence": {"size": "ten gigs"}}, "/persistence/size"),
    ({"host": "https://mathesar.example.com/"}, "/host"),
    ({"stopTimeout": 0}, "/stopTimeout"),
    ({"extraEnv": [{"name": "SECRET_KEY", "value": "inline"}]}, "/extraEnv/0/name"),
    ({"replica": 2}, "additional properties 'replica'"),
]


@pytest.mark.parametrize("values,names", BAD_VALUES, ids=[str(v) for v, _ in BAD_VALUES])
def test_bad_values_are_refused_by_the_schema(values, names):
    chart = helm.Chart.load(str(CHART))
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.validate_schema(values)
    assert names in str(refused.value)


@pytest.mark.parametrize("values,says", [
    ({"replicas": 2}, "the bundled PostgreSQL lives in one pod's volume"),
    ({"database": {"mode": "external"}}, "needs database.host"),
    ({"database": {"mode": "external", "host": "db"}}, "needs the database password"),
    ({"ingress": {"enabled": True}}, "ingress.enabled needs host"),
])
def test_the_templates_refuse_what_the_schema_cannot_say(values, says, tmp_path):
    # The chart without its schema (`--skip-schema-validation`): the templates
    # themselves still refuse, naming the values and the fix.
    copy = tmp_path / "mathesar"
    shutil.copytree(CHART, copy)
    (copy / "values.schema.json").unlink()
    with pytest.raises(helm.HelmRenderError) as refused:
        helm.Chart.load(str(copy)).render(values, name="mathesar", namespace="apps")
    assert says in str(refused.value)
