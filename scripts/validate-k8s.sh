#!/usr/bin/env bash
# Validate the Kubernetes manifests under k8s/ without a cluster.
#
#   1. render  k8s/base and every k8s/overlays/* with `kubectl kustomize` (or `kustomize build`);
#   2. schema  every rendered object against the Kubernetes OpenAPI types shipped by the npm
#              package `kubernetes-models` (types, required fields, enums, formats) and, from the
#              same package's type declarations, STRICT field names (an unknown or misspelled
#              field is an error, as with the API server's strict field validation);
#   3. policy  project rules: labels and selectors agree, every container has an image tag,
#              probes, resources and a locked-down securityContext, ports/ConfigMap/Secret/
#              Service/PDB/HPA references resolve, the Orleans settings agree with the ports and
#              labels, production renders no Secret, the dev Secret has every referenced key; the
#              management listener (Management__Urls) agrees with the `metrics` port and the
#              prometheus.io/* annotations, is never behind a public Service, and a ServiceMonitor
#              selects a Service with that port; a Grafana dashboard ConfigMap holds valid JSON.
#
# Prints every problem, then ONE summary line last; exits non-zero on any problem.
#
# Usage: scripts/validate-k8s.sh [--out DIR] [--no-schema]
#   --out DIR     keep the rendered manifests in DIR (<name>.yaml per kustomization)
#   --no-schema   skip step 2 (no npm registry at hand); the summary says it was skipped
#
# Needs: kubectl with kustomize v4+ (or a `kustomize` binary), python3 with PyYAML, and for step 2
# node + npm: `kubernetes-models` (and `@kubernetes-models/prometheus-operator` for the ServiceMonitor)
# are installed once into a cache folder
# ($K8S_VALIDATE_CACHE, default ~/.cache/api-platform/k8s-validate) and reused, so later runs
# take a few seconds and need no network.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
K8S="$ROOT/k8s"
CACHE=${K8S_VALIDATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/api-platform/k8s-validate}
# Pinned: the schema version changes only when this line does.
MODELS_VERSION=5.1.0
PROMETHEUS_MODELS_VERSION=6.0.0
OUT=""
SCHEMA=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --no-schema) SCHEMA=0; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "validate-k8s: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

T0=$SECONDS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "validate-k8s: FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- tools
# A kustomize that understands `labels:`, `replicas:` and `patches:` (kustomize v4+, i.e. kubectl
# 1.21+). Debian 12's `kubernetes-client` package is kubectl 1.20 with kustomize v2.0.3, which
# cannot render these kustomizations; it is installed only as a last resort and then rejected
# with a clear message if it is too old.
kustomize_version() { # prints the major version of kubectl's built-in kustomize, or nothing
    kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9][0-9]*\).*/\1/p' | head -n 1
}
RENDER=()
if command -v kubectl >/dev/null && [[ $(kustomize_version) -ge 4 ]] 2>/dev/null; then
    RENDER=(kubectl kustomize)
    RENDERER="kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p' | head -n 1), kustomize v$(kustomize_version)"
elif command -v kustomize >/dev/null; then
    RENDER=(kustomize build)
    RENDERER="kustomize $(kustomize version 2>/dev/null | head -n 1)"
else
    if ! command -v kubectl >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "validate-k8s: no kubectl; trying Debian's kubernetes-client package" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client </dev/null >/dev/null 2>&1 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client </dev/null >/dev/null 2>&1; } || true
    fi
    if command -v kubectl >/dev/null && [[ $(kustomize_version) -ge 4 ]] 2>/dev/null; then
        RENDER=(kubectl kustomize)
        RENDERER="kubectl (kustomize v$(kustomize_version))"
    else
        fail "need kubectl 1.21+ (kustomize v4+) or a kustomize binary on PATH; found: $(command -v kubectl >/dev/null && kubectl version --client 2>&1 | head -n 1 || echo 'no kubectl')"
    fi
fi

PYTHON=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PYTHON=$p; break; fi
done
if [[ -z "$PYTHON" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml </dev/null >/dev/null 2>&1 || true
        /usr/bin/python3 -c 'import yaml' 2>/dev/null && PYTHON=/usr/bin/python3
    fi
    [[ -n "$PYTHON" ]] || fail "need python3 with PyYAML (Debian: python3-yaml)"
fi

# ---------------------------------------------------------------- 1. render
NAMES=()
RENDER_PROBLEMS=0
for dir in "$K8S/base" "$K8S"/overlays/*/; do
    dir=${dir%/}
    [[ -f "$dir/kustomization.yaml" ]] || continue
    name=$(basename "$dir")
    if "${RENDER[@]}" "$dir" >"$WORK/$name.yaml" 2>"$WORK/$name.err"; then
        NAMES+=("$name")
    else
        echo "k8s/${dir#"$K8S"/}: render failed:"
        sed 's/^/    /' "$WORK/$name.err"
        RENDER_PROBLEMS=$((RENDER_PROBLEMS + 1))
    fi
done
[[ ${#NAMES[@]} -gt 0 || $RENDER_PROBLEMS -gt 0 ]] || fail "no kustomization found under $K8S"
if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
    for n in "${NAMES[@]}"; do cp "$WORK/$n.yaml" "$OUT/"; done
fi

# ---------------------------------------------------------------- 3. policy (and YAML -> JSON for 2)
cat >"$WORK/policy.py" <<'PY'
"""Project rules for the rendered manifests. Prints one line per problem; writes every object as
JSON for the schema step. argv: work_dir k8s_dir name..."""
import ipaddress, json, os, re, sys
import yaml

work, k8s, names = sys.argv[1], sys.argv[2], sys.argv[3:]
problems = []
checks = 0

KNOWN_KINDS = {
    ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"),
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
CLUSTER_SCOPED = {"Namespace"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# The operator creates these in production (secret.example.yaml documents their keys).
OPERATOR_SECRETS = {"api-platform-secrets"}


def check(ok, where, message):
    global checks
    checks += 1
    if not ok:
        problems.append(f"{where}: {message}")
    return ok


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_of(obj):
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


def example_secret_keys():
    path = os.path.join(k8s, "overlays", "production", "secret.example.yaml")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "Secret":
                return set((doc.get("stringData") or {}).keys()) | set((doc.get("data") or {}).keys())
    return None


def secret_keys(doc):
    return set((doc.get("stringData") or {}).keys()) | set((doc.get("data") or {}).keys())


def check_render(name, docs):
    overlay = name != "base"
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: secret_keys(d) for d in by_kind.get("Secret", [])}
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    hpa_targets = {(h["spec"]["scaleTargetRef"].get("kind"), h["spec"]["scaleTargetRef"].get("name"))
                   for h in by_kind.get("HorizontalPodAutoscaler", []) if h.get("spec", {}).get("scaleTargetRef")}
    namespaces = set()
    required_secret_keys = {}  # secret name -> keys referenced without optional: true

    for d in docs:
        kind, api, meta = d.get("kind"), d.get("apiVersion"), d.get("metadata") or {}
        where = f"{name}: {kind}/{meta.get('name')}"
        check(bool(api and kind and meta.get("name")), where, "needs apiVersion, kind and metadata.name")
        check((api, kind) in KNOWN_KINDS, where, f"unexpected kind {api}/{kind} (add it to KNOWN_KINDS and the schema map if intended)")
        check(bool(DNS1123.match(str(meta.get("name", "")))) and len(str(meta.get("name", ""))) <= 253, where, "name is not a DNS-1123 name")
        check(bool((meta.get("labels") or {}).get("app.kubernetes.io/name")), where, "missing label app.kubernetes.io/name")
        if overlay and kind not in CLUSTER_SCOPED:
            check(bool(meta.get("namespace")), where, "no namespace (overlays set one for every object)")
            namespaces.add(meta.get("namespace"))
        if kind == "Secret" and name == "production":
            check(False, where, "production must not render a Secret: the operator creates it (secret.example.yaml)")

    if overlay:
        check(len(namespaces) == 1, f"{name}", f"objects spread over namespaces {sorted(map(str, namespaces))}")
        ns_objs = {d["metadata"]["name"] for d in by_kind.get("Namespace", [])}
        check(namespaces <= ns_objs, f"{name}", f"namespace {sorted(map(str, namespaces))} is not created by the overlay")

    for w in workloads:
        meta, spec = w["metadata"], w.get("spec") or {}
        where = f"{name}: {w['kind']}/{meta['name']}"
        tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        check(labels_match(selector, tmpl_labels), where, f"selector {selector} does not match the pod labels {tmpl_labels}")
        check(not (spec.get("selector") or {}).get("matchExpressions"), where, "use matchLabels only (simpler to keep in step)")
        is_app = tmpl_labels.get("app.kubernetes.io/name") == "api-platform"
        if w["kind"] == "Deployment":
            if (w["kind"], meta["name"]) in hpa_targets:
                check("replicas" not in spec, where, "has spec.replicas although an HPA scales it (every apply would reset the count)")
            else:
                check(isinstance(spec.get("replicas"), int), where, "no spec.replicas and no HPA")
        pod = pod_of(w)
        psc = pod.get("securityContext") or {}
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        for t in spec.get("volumeClaimTemplates") or []:
            volumes[t["metadata"]["name"]] = {"persistentVolumeClaim": {}}
        if is_app:
            check(pod.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false (the app never calls the Kubernetes API)")
            check(isinstance(pod.get("terminationGracePeriodSeconds"), int), where, "set terminationGracePeriodSeconds")
            spread = pod.get("topologySpreadConstraints") or []
            check(any(labels_match((c.get("labelSelector") or {}).get("matchLabels") or {}, tmpl_labels) for c in spread),
                  where, "needs a topologySpreadConstraint selecting its own pods")
        containers = pod.get("containers") or []
        check(bool(containers), where, "no containers")
        for c in (pod.get("initContainers") or []) + containers:
            cw = f"{where} container {c.get('name')}"
            image = str(c.get("image") or "")
            last = image.rsplit("/", 1)[-1]
            check(bool(image), cw, "no image")
            if overlay:
                check("@" in last or (":" in last and not last.endswith(":latest")), cw, f"image {image!r} needs an explicit tag or digest (not latest)")
            for probe in ("readinessProbe", "livenessProbe"):
                check(bool(c.get(probe)), cw, f"no {probe}")
            res = c.get("resources") or {}
            for k in ("cpu", "memory"):
                check(k in (res.get("requests") or {}), cw, f"no resources.requests.{k}")
            check("memory" in (res.get("limits") or {}), cw, "no resources.limits.memory")
            sc = c.get("securityContext") or {}
            check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, cw, "runAsNonRoot must be true")
            check(sc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation must be false")
            check(sc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem must be true")
            check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), cw, "capabilities must drop ALL")
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            check(seccomp in ("RuntimeDefault", "Localhost"), cw, "seccompProfile must be RuntimeDefault")
            mounts = c.get("volumeMounts") or []
            for m in mounts:
                check(m.get("name") in volumes, cw, f"volumeMount {m.get('name')!r} has no volume")
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            port_numbers = set(ports.values())
            for pname in ports:
                check(pname is None or (len(pname) <= 15 and bool(re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", pname))), cw, f"port name {pname!r} is not an IANA_SVC_NAME")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c.get(probe) or {}
                port = (p.get("httpGet") or p.get("tcpSocket") or {}).get("port")
                if port is not None:
                    check(port in ports or port in port_numbers, cw, f"{probe} port {port!r} is not a container port")
            env_names = [e.get("name") for e in c.get("env") or []]
            check(len(env_names) == len(set(env_names)), cw, "duplicate env names")
            for e in env_names:
                check(bool(ENV_NAME.match(str(e))), cw, f"invalid env name {e!r}")
            env = {e.get("name"): e for e in c.get("env") or []}
            config = {}
            for ef in c.get("envFrom") or []:
                if "configMapRef" in ef:
                    ref = ef["configMapRef"].get("name")
                    check(ref in configmaps, cw, f"envFrom ConfigMap {ref!r} is not in the render")
                    config.update(configmaps.get(ref, {}))
                if "secretRef" in ef:
                    ref = ef["secretRef"].get("name")
                    check(ref in secrets or (ref in OPERATOR_SECRETS and name != "dev"), cw, f"envFrom Secret {ref!r} is not in the render")
            for e in env.values():
                vf = e.get("valueFrom") or {}
                if "secretKeyRef" in vf:
                    ref = vf["secretKeyRef"]
                    if not ref.get("optional"):
                        required_secret_keys.setdefault(ref.get("name"), set()).add(ref.get("key"))
                    if ref.get("name") in secrets:
                        check(ref.get("optional") or ref.get("key") in secrets[ref.get("name")], cw,
                              f"Secret {ref.get('name')!r} has no key {ref.get('key')!r}")
                    else:
                        check(ref.get("name") in OPERATOR_SECRETS and name != "dev", cw, f"Secret {ref.get('name')!r} is not in the render")
                if "configMapKeyRef" in vf:
                    ref = vf["configMapKeyRef"]
                    check(ref.get("key") in configmaps.get(ref.get("name"), {}), cw, f"ConfigMap key {ref.get('name')}/{ref.get('key')} not found")
            if not is_app:
                continue
            # ---- the API platform's own containers
            for probe, path in (("startupProbe", "/health"), ("readinessProbe", "/health/ready"), ("livenessProbe", "/health")):
                got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                check(got == path, cw, f"{probe} must GET {path} (got {got!r})")
            check(any(m.get("mountPath") == "/tmp" and "emptyDir" in volumes.get(m.get("name"), {}) for m in mounts),
                  cw, "read-only root filesystem needs an emptyDir at /tmp")
            role = (env.get("Orleans__Role") or {}).get("value") or config.get("Orleans__Role") or "Silo"
            # The management listener: its port is the `metrics` containerPort and what the annotations name.
            mgmt_port = re.search(r":(\d+)\s*$", config.get("Management__Urls", ""))
            check(mgmt_port is not None and ports.get("metrics") == int(mgmt_port.group(1)), cw,
                  f"Management__Urls {config.get('Management__Urls')!r} must use the `metrics` containerPort {ports.get('metrics')}")
            annotations = ((w["spec"].get("template") or {}).get("metadata") or {}).get("annotations") or {}
            check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/path") == "/metrics"
                  and annotations.get("prometheus.io/port") == str(ports.get("metrics")), cw,
                  "the pod template needs prometheus.io/scrape \"true\", /path \"/metrics\" and /port equal to the metrics port")
            url_port = re.search(r":(\d+)\s*$", config.get("ASPNETCORE_URLS", ""))
            check(url_port is not None and ports.get("http") == int(url_port.group(1)), cw,
                  f"ASPNETCORE_URLS {config.get('ASPNETCORE_URLS')!r} must use the `http` containerPort {ports.get('http')}")
            for key in ("ConnectionStrings__Postgres", "Jwt__SigningKey"):
                check("secretKeyRef" in ((env.get(key) or {}).get("valueFrom") or {}), cw, f"{key} must come from a Secret")
            # Behind an ingress every client arrives from the proxy's address: without trusted proxies all anonymous
            # clients would share one rate-limit budget (docs/security.md).
            trusted = {k: v for k, v in config.items() if re.match(r"^ForwardedHeaders__Known(Networks|Proxies)__\d+$", k)}
            if overlay:
                check(bool(trusted), cw, "set ForwardedHeaders__KnownNetworks__0 (or __KnownProxies__0) to the ingress proxies' addresses")
            for k, v in trusted.items():
                try:
                    (ipaddress.ip_network if "Networks" in k else ipaddress.ip_address)(str(v).strip())
                    ok = True
                except ValueError:
                    ok = False
                check(ok, cw, f"{k}={v!r} is not {'a CIDR range' if 'Networks' in k else 'an IP address'}")
            check(tmpl_labels.get("orleans/serviceId") == config.get("Orleans__ServiceId", "api-platform"), cw,
                  "label orleans/serviceId must equal Orleans__ServiceId")
            check(tmpl_labels.get("orleans/clusterId") == config.get("Orleans__ClusterId", "api-platform"), cw,
                  "label orleans/clusterId must equal Orleans__ClusterId")
            prestop = ((c.get("lifecycle") or {}).get("preStop") or {})
            sleep = int(((prestop.get("sleep") or {}).get("seconds")) or next((int(a) for a in ((prestop.get("exec") or {}).get("command") or [])[1:2] if str(a).isdigit()), 0))
            shutdown = int(config.get("DOTNET_shutdownTimeoutSeconds", 30))
            check(pod.get("terminationGracePeriodSeconds", 30) > sleep + (shutdown if role == "Silo" else 0), cw,
                  f"terminationGracePeriodSeconds must exceed preStop ({sleep}s){' + shutdown (' + str(shutdown) + 's)' if role == 'Silo' else ''}")
            if role == "Silo":
                check(ports.get("orleans-silo") == int(config.get("Orleans__SiloPort", 11111)), cw, "containerPort orleans-silo must equal Orleans__SiloPort")
                check(ports.get("orleans-gateway") == int(config.get("Orleans__GatewayPort", 30000)), cw, "containerPort orleans-gateway must equal Orleans__GatewayPort")
                for key, field in (("Orleans__AdvertisedIPAddress", "status.podIP"), ("Orleans__SiloName", "metadata.name")):
                    got = (((env.get(key) or {}).get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
                    check(got == field, cw, f"{key} must come from the downward API field {field} (got {got!r})")
            else:
                check(role == "Gateway", cw, f"unknown Orleans__Role {role!r}")
                check(set(ports) == {"http", "metrics"}, cw, "a gateway-only pod exposes only the http and metrics ports")
                check("Bootstrap__AdminPassword" not in env, cw, "gateway pods do not need the admin password")

    # ---- Secrets the operator creates must have every required key documented in the example
    example = example_secret_keys()
    for sname, keys in required_secret_keys.items():
        if sname in secrets:
            missing = keys - secrets[sname]
            check(not missing, f"{name}: Secret/{sname}", f"missing keys {sorted(missing)}")
        elif sname in OPERATOR_SECRETS:
            check(example is not None and keys <= example, f"{name}: Secret/{sname}",
                  f"secret.example.yaml must document keys {sorted(keys - (example or set()))}")

    # ---- Services, PDBs, NetworkPolicies select something; ports resolve
    def pods_selected_by(selector):
        return [w for w in workloads if labels_match(selector, ((w["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {})]

    def container_ports(ws):
        out = set()
        for w in ws:
            for c in pod_of(w).get("containers") or []:
                for p in c.get("ports") or []:
                    out.add(p.get("name")); out.add(p.get("containerPort"))
        return out

    for s in by_kind.get("Service", []):
        where = f"{name}: Service/{s['metadata']['name']}"
        sel = (s.get("spec") or {}).get("selector") or {}
        targets = pods_selected_by(sel)
        if check(bool(targets), where, f"selector {sel} matches no workload"):
            cports = container_ports(targets)
            for p in s["spec"].get("ports") or []:
                check(p.get("targetPort", p.get("port")) in cports, where, f"targetPort {p.get('targetPort')!r} is not a port of the selected pods")
        for st in by_kind.get("StatefulSet", []):
            if st["spec"].get("serviceName") == s["metadata"]["name"]:
                check(s["spec"].get("clusterIP") == "None", where, "a StatefulSet's governing Service must be headless")
    # The metrics port is never behind a Service that also carries the API (an Ingress could expose it), and
    # a ServiceMonitor selects a Service that has the port it scrapes.
    for s in by_kind.get("Service", []):
        names = {p.get("name") for p in (s.get("spec") or {}).get("ports") or []}
        check(not ("metrics" in names and "http" in names), f"{name}: Service/{s['metadata']['name']}",
              "the metrics port must be on a Service of its own, not beside the API's http port")
    for m in by_kind.get("ServiceMonitor", []):
        where = f"{name}: ServiceMonitor/{m['metadata']['name']}"
        sel = ((m.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        matched = [s for s in by_kind.get("Service", []) if labels_match(sel, (s.get("metadata") or {}).get("labels") or {})]
        if check(bool(matched), where, f"selector {sel} matches no Service"):
            for e in (m.get("spec") or {}).get("endpoints") or []:
                check(all(e.get("port") in {p.get("name") for p in s["spec"].get("ports") or []} for s in matched), where,
                      f"endpoint port {e.get('port')!r} is not a named port of the selected Service")
                check(e.get("path", "/metrics") == "/metrics", where, "endpoints scrape /metrics")
    for c in by_kind.get("ConfigMap", []):
        if ((c.get("metadata") or {}).get("labels") or {}).get("grafana_dashboard") == "1":
            for key, text in (c.get("data") or {}).items():
                try:
                    board = json.loads(text)
                    check(bool(board.get("panels")) and bool(board.get("title")), f"{name}: ConfigMap/{c['metadata']['name']}",
                          f"{key} is not a Grafana dashboard (no title or panels)")
                except ValueError as e:
                    check(False, f"{name}: ConfigMap/{c['metadata']['name']}", f"{key} is not JSON: {e}")
    for st in by_kind.get("StatefulSet", []):
        check(st["spec"].get("serviceName") in {s["metadata"]["name"] for s in by_kind.get("Service", [])},
              f"{name}: StatefulSet/{st['metadata']['name']}", "serviceName has no Service")
    for p in by_kind.get("PodDisruptionBudget", []):
        where = f"{name}: PodDisruptionBudget/{p['metadata']['name']}"
        spec = p.get("spec") or {}
        check(("minAvailable" in spec) != ("maxUnavailable" in spec), where, "set exactly one of minAvailable / maxUnavailable")
        check(bool(pods_selected_by((spec.get("selector") or {}).get("matchLabels") or {})), where, "selector matches no workload")
    for n in by_kind.get("NetworkPolicy", []):
        where = f"{name}: NetworkPolicy/{n['metadata']['name']}"
        targets = pods_selected_by(((n.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {})
        if check(bool(targets), where, "podSelector matches no workload"):
            cports = container_ports(targets)
            for rule in n["spec"].get("ingress") or []:
                for port in rule.get("ports") or []:
                    check(port.get("port") in cports, where, f"port {port.get('port')!r} is not a port of the selected pods")
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        where = f"{name}: HorizontalPodAutoscaler/{h['metadata']['name']}"
        spec = h.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        target = next((w for w in workloads if w["kind"] == ref.get("kind") and w["metadata"]["name"] == ref.get("name")), None)
        check(target is not None, where, f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not in the render")
        lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
        check(1 <= lo <= hi, where, f"needs 1 <= minReplicas ({lo}) <= maxReplicas ({hi})")
        if target is not None and any(m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu" for m in spec.get("metrics") or []):
            check(all("cpu" in ((c.get("resources") or {}).get("requests") or {}) for c in pod_of(target).get("containers") or []),
                  where, "CPU utilization needs a CPU request on every container of the target")
    return len(docs)


objects = 0
rendered = {}
for name in names:
    with open(os.path.join(work, name + ".yaml")) as f:
        try:
            docs = [d for d in yaml.safe_load_all(f) if d]
        except yaml.YAMLError as e:
            problems.append(f"{name}: rendered YAML does not parse: {e}")
            continue
    rendered[name] = docs
    objects += check_render(name, docs)

with open(os.path.join(work, "rendered.json"), "w") as f:
    json.dump(rendered, f)
for p in problems:
    print(p)
with open(os.path.join(work, "policy.counts"), "w") as f:
    f.write(f"{objects} {checks} {len(problems)}\n")
PY

POLICY_OUT="$WORK/policy.out"
"$PYTHON" "$WORK/policy.py" "$WORK" "$K8S" "${NAMES[@]}" >"$POLICY_OUT" || fail "the policy checker crashed: $(tail -n 3 "$POLICY_OUT")"
read -r OBJECTS POLICY_CHECKS POLICY_PROBLEMS <"$WORK/policy.counts"
cat "$POLICY_OUT"

# ---------------------------------------------------------------- 2. schema
SCHEMA_PROBLEMS=0
SCHEMA_NOTE="schema skipped (--no-schema)"
if [[ $SCHEMA -eq 1 ]]; then
    command -v node >/dev/null && command -v npm >/dev/null ||
        fail "node and npm are needed for the schema step (Debian: nodejs npm), or pass --no-schema"
    mkdir -p "$CACHE"
    PROMETHEUS_MODELS="$CACHE/node_modules/@kubernetes-models/prometheus-operator/package.json"
    if [[ ! -f "$CACHE/node_modules/kubernetes-models/package.json" ]] ||
        ! grep -q "\"version\": \"$MODELS_VERSION\"" "$CACHE/node_modules/kubernetes-models/package.json" ||
        [[ ! -f "$PROMETHEUS_MODELS" ]] || ! grep -q "\"version\": \"$PROMETHEUS_MODELS_VERSION\"" "$PROMETHEUS_MODELS"; then
        echo "validate-k8s: installing kubernetes-models@$MODELS_VERSION and @kubernetes-models/prometheus-operator@$PROMETHEUS_MODELS_VERSION into $CACHE (once)" >&2
        printf '{ "name": "k8s-validate-cache", "private": true, "type": "module" }\n' >"$CACHE/package.json"
        timeout 180 npm install --prefix "$CACHE" --no-audit --no-fund --no-package-lock --silent \
            "kubernetes-models@$MODELS_VERSION" "@kubernetes-models/prometheus-operator@$PROMETHEUS_MODELS_VERSION" >"$WORK/npm.log" 2>&1 ||
            fail "npm install of the schema models failed (or pass --no-schema): $(tail -n 5 "$WORK/npm.log")"
    fi
    # The script must sit next to node_modules so that its imports resolve.
    cat >"$CACHE/validate.mjs" <<'JS'
// Schema + strict field check of rendered objects (JSON from the policy step), using the npm
// package kubernetes-models: its compiled JSON-schema validators for types/required/enums, and its
// TypeScript declarations (one interface per API type) for the set of allowed field names.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = path.join(here, "node_modules");
const rendered = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const problems = [];

// ---- allowed field names from the .d.ts files
const ifaceCache = new Map();
function parseInterface(file) { // -> Map(field -> type text) or null for non-object types
  if (ifaceCache.has(file)) return ifaceCache.get(file);
  let result = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
      for (const n of m[1].split(",").map((s) => s.trim())) imports.set(n, m[2]);
    }
    const lines = text.split("\n");
    const start = lines.findIndex((l) => /^export interface I\w+( extends [\w, ]+)? \{$/.test(l));
    if (start >= 0) {
      const fields = new Map();
      for (let i = start + 1; i < lines.length && lines[i] !== "}"; i++) {
        const m = /^    "([^"]+)"\??: (.*)$/.exec(lines[i]);
        if (!m) continue;
        let type = m[2];
        if (type.endsWith("{")) { // multi-line map type, up to the closing `    };`
          while (i + 1 < lines.length && !/^    }/.test(lines[i + 1])) type += " " + lines[++i].trim();
          type += " }";
          i++;
        }
        fields.set(m[1], type.replace(/;$/, ""));
      }
      result = { fields, imports, dir: path.dirname(file) };
    }
  }
  ifaceCache.set(file, result);
  return result;
}
function resolveImport(iface, name) { // type name -> .d.ts file
  const spec = iface.imports.get(name);
  if (!spec) return null;
  if (spec.startsWith(".")) return path.resolve(iface.dir, spec.replace(/\.js$/, ".d.ts"));
  return path.join(nm, spec + ".d.ts");
}
function checkFields(value, file, where) {
  const iface = parseInterface(file);
  if (!iface || value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (!iface.fields.has(key)) {
      problems.push(`${where}: unknown field "${key}"`);
      continue;
    }
    checkType(child, iface.fields.get(key), iface, `${where}.${key}`);
  }
}
function checkType(value, type, iface, where) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkType(v, m[1], iface, `${where}[${i}]`));
  } else if ((m = /^\{ \[key: string\]: (.+?);? \}$/.exec(type))) {
    if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) checkType(v, m[1], iface, `${where}.${k}`);
  } else if (/^I\w+$/.test(type)) {
    const file = resolveImport(iface, type);
    if (file) checkFields(value, file, where);
  }
}

// ---- schema validation through the models' compiled validators
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  // Custom resources of the Prometheus Operator come from their own models package.
  const dir = group === "monitoring.coreos.com"
    ? path.join(nm, "@kubernetes-models", "prometheus-operator", group, version)
    : path.join(nm, "kubernetes-models", group, version);
  const mod = await import(path.join(dir, kind + ".js"));
  return { Model: mod[kind], dts: path.join(dir, kind + ".d.ts") };
}

let objects = 0;
for (const [render, docs] of Object.entries(rendered)) {
  for (const doc of docs) {
    objects++;
    const where = `${render}: ${doc.kind}/${doc.metadata?.name}`;
    let model;
    try {
      model = await modelFor(doc.apiVersion, doc.kind);
    } catch {
      problems.push(`${where}: no schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new model.Model(doc).validate();
    } catch (e) {
      for (const line of String(e.message).split(", ")) problems.push(`${where}: schema: ${line}`);
    }
    checkFields(doc, model.dts, where);
  }
}
for (const p of problems) console.log(p);
const version = JSON.parse(fs.readFileSync(path.join(nm, "kubernetes-models", "package.json"), "utf8")).version;
fs.writeFileSync(process.argv[3], `${objects} ${problems.length} ${version}\n`);
JS
    node "$CACHE/validate.mjs" "$WORK/rendered.json" "$WORK/schema.counts" >"$WORK/schema.out" 2>&1 ||
        fail "the schema checker crashed: $(tail -n 5 "$WORK/schema.out")"
    cat "$WORK/schema.out"
    read -r _ SCHEMA_PROBLEMS SCHEMA_VERSION <"$WORK/schema.counts"
    SCHEMA_NOTE="schema+strict fields (kubernetes-models $SCHEMA_VERSION)"
fi

# ---------------------------------------------------------------- summary (last line)
TOTAL=$((RENDER_PROBLEMS + POLICY_PROBLEMS + SCHEMA_PROBLEMS))
SUMMARY="${#NAMES[@]} rendered (${NAMES[*]}) with $RENDERER, $OBJECTS objects, $SCHEMA_NOTE, $POLICY_CHECKS policy checks, $((SECONDS - T0))s"
if [[ $TOTAL -eq 0 ]]; then
    echo "validate-k8s: OK: $SUMMARY"
else
    echo "validate-k8s: FAILED: $TOTAL problem(s) (render $RENDER_PROBLEMS, schema $SCHEMA_PROBLEMS, policy $POLICY_PROBLEMS); $SUMMARY"
    exit 1
fi
