#!/usr/bin/env python3
"""The rules WedSync's Kubernetes manifests keep, checked on what an overlay renders to.

    python3 infrastructure/k8s/check.py infrastructure/k8s/overlays/production   # renders it with kubectl
    kubectl kustomize --load-restrictor LoadRestrictionsNone OVERLAY | python3 check.py -

A source is an overlay directory (rendered here with `kubectl kustomize --load-restrictor LoadRestrictionsNone`: the
base's ConfigMaps are generated from the files in infrastructure/, outside the kustomization's root, see
base/kustomization.yaml), a rendered multi-document YAML file, or `-` for standard input. Each broken rule is one line
naming the source, the object and the rule; the exit status is 1 when any rule is broken, 2 when a source cannot be
read or rendered.

Rules (the rule's name is in every failure line):
  probes            a Deployment's or StatefulSet's container without a liveness or a readiness probe
  resources         ... without cpu and memory requests and limits
  image             a workload's image without a tag, or tagged latest
  image-pull-policy a workload's image not pulled IfNotPresent (tags are immutable releases)
  security          a container that may run as root, escalate privileges or keep capabilities; a pod on the host's
                    network, PID or IPC namespace
  secret            a Secret in the output: secrets are created by the operator, never committed (nor generated)
  rbac-wildcard     a Role or ClusterRole granting `*` anywhere
  autoscaler-config the autoscaler cannot be found, or its autoscaling file is not in the output
  autoscaler-target an autoscaler target whose Deployment is not in the output
  autoscaler-replicas a Deployment the autoscaler scales that sets `replicas` (every apply would undo its decision)
  autoscaler-rbac   the autoscaler's service account granted anything beyond get on its target Deployments and
                    get/update/patch on their scale (a Role, never a ClusterRole; by name), or short of what its
                    actuator sends (GET the Deployment, PATCH its scale)
  pdb               a workload with more than one replica, or scaled by the autoscaler, that no PodDisruptionBudget
                    selects
  config-file       a WEDSYNC_*_FILE setting (routes, alerts, budgets, warming, autoscaling) naming a path that no
                    ConfigMap in the output provides where it is mounted

Which Deployments the autoscaler owns is derived, not listed: from the autoscaler's own pod (its
WEDSYNC_AUTOSCALER_ACTUATOR and WEDSYNC_AUTOSCALER_FILE), the autoscaling file as the rendered ConfigMap mounted at
that path holds it (infrastructure/autoscaling.yaml), and each target's `deployment:` (wedsync-<target> by default,
as services/autoscaler/.../ScalingTarget.swift has it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Iterable

import yaml

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# Long-running workloads: probes, resources and disruption budgets are theirs.
SERVING_KINDS = {"Deployment", "StatefulSet"}

# What the Kubernetes actuator sends (KubernetesActuator.swift): GET .../deployments/NAME (spec.replicas,
# status.readyReplicas) and PATCH .../deployments/NAME/scale. Allowed: that, and the rest of what the scale
# subresource takes (get, update), on the target Deployments by name, and nothing else.
AUTOSCALER_ALLOWED = {("apps", "deployments"): {"get"}, ("apps", "deployments/scale"): {"get", "update", "patch"}}
AUTOSCALER_REQUIRED = {("apps", "deployments"): {"get"}, ("apps", "deployments/scale"): {"patch"}}

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Finding:
    obj: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.rule}: {self.message}"


# --- reading ---------------------------------------------------------------------------------------------------


def render(overlay: str) -> str:
    """The overlay's output, as `kubectl kustomize` renders it (offline: no cluster is contacted)."""
    result = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", overlay],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay} failed: {result.stderr.strip()}")
    return result.stdout


def load(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def read_source(source: str) -> list[dict]:
    if source == "-":
        return load(sys.stdin.read())
    if os.path.isdir(source):
        return load(render(source))
    with open(source, encoding="utf-8") as handle:
        return load(handle.read())


# --- helpers ---------------------------------------------------------------------------------------------------


def meta(doc: dict) -> dict:
    return doc.get("metadata") or {}


def namespace_of(doc: dict) -> str | None:
    return meta(doc).get("namespace")


def name_of(doc: dict) -> str:
    return meta(doc).get("name", "?")


def label(doc: dict) -> str:
    ns = namespace_of(doc)
    return f"{doc.get('kind', '?')}/{ns + '/' if ns else ''}{name_of(doc)}"


def pod_template(doc: dict) -> dict | None:
    """The pod template's {metadata, spec} of a workload."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "Pod":
        return {"metadata": meta(doc), "spec": spec}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    if kind in WORKLOAD_KINDS:
        return spec.get("template") or {}
    return None


def containers(pod_spec: dict, init: bool = True) -> list[dict]:
    found = list(pod_spec.get("containers") or [])
    if init:
        found += list(pod_spec.get("initContainers") or [])
    return found


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector against a pod's labels. A null selector selects nothing (policy/v1); {} selects everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def image_problem(image: str | None) -> str | None:
    if not image:
        return "no image"
    if "@" in image:  # pinned by digest
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{image} has no tag (the overlay's `images:` sets it)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"{image} is tagged latest"
    return None


# --- the autoscaler --------------------------------------------------------------------------------------------


@dataclass
class Autoscaler:
    workload: dict
    namespace: str | None
    service_account: str
    actuator: str
    # (namespace, Deployment name) of each target, for the kubernetes actuator.
    targets: set[tuple[str | None, str]]


def container_env(container: dict, configmaps: dict[tuple[str | None, str], dict], namespace: str | None) -> dict:
    """A container's literal environment: envFrom ConfigMaps (as rendered) first, then env values."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            data = (configmaps.get((namespace, ref.get("name"))) or {}).get("data") or {}
            prefix = source.get("prefix") or ""
            env.update({prefix + key: str(value) for key, value in data.items()})
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif entry.get("valueFrom", {}).get("configMapKeyRef"):
            ref = entry["valueFrom"]["configMapKeyRef"]
            data = (configmaps.get((namespace, ref.get("name"))) or {}).get("data") or {}
            if ref.get("key") in data:
                env[entry["name"]] = str(data[ref["key"]])
    return env


def file_from_configmap(
    path: str, container: dict, pod_spec: dict, configmaps: dict, namespace: str | None
) -> str | None:
    """The content of `path` in the container when a ConfigMap mounted there provides it."""
    volumes = {volume.get("name"): volume for volume in pod_spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        mount_path = mount.get("mountPath", "").rstrip("/")
        sub_path = mount.get("subPath")
        if path == mount_path and sub_path:
            relative = sub_path
        elif path.startswith(mount_path + "/"):
            relative = path[len(mount_path) + 1 :]
            if sub_path:
                relative = sub_path.rstrip("/") + "/" + relative
        else:
            continue
        volume = volumes.get(mount.get("name")) or {}
        sources = []
        if volume.get("configMap"):
            sources.append(volume["configMap"])
        for projected in (volume.get("projected") or {}).get("sources") or []:
            if projected.get("configMap"):
                sources.append(projected["configMap"])
        for source in sources:
            configmap = configmaps.get((namespace, source.get("name")))
            if not configmap:
                continue
            data = configmap.get("data") or {}
            items = source.get("items")
            if items:
                for item in items:
                    if item.get("path") == relative and item.get("key") in data:
                        return data[item["key"]]
            elif relative in data:
                return data[relative]
    return None


def find_autoscalers(docs: list[dict], findings: list[Finding]) -> list[Autoscaler]:
    configmaps = {(namespace_of(d), name_of(d)): d for d in docs if d.get("kind") == "ConfigMap"}
    autoscalers = []
    for doc in docs:
        template = pod_template(doc)
        if template is None:
            continue
        pod_spec = template.get("spec") or {}
        namespace = namespace_of(doc)
        for container in containers(pod_spec, init=False):
            env = container_env(container, configmaps, namespace)
            argv = [os.path.basename(str(part)) for part in (container.get("command") or []) + (container.get("args") or [])]
            if not ("WEDSYNC_AUTOSCALER_FILE" in env or "WEDSYNC_AUTOSCALER_ACTUATOR" in env or "wedsync-autoscaler" in argv):
                continue
            actuator = env.get("WEDSYNC_AUTOSCALER_ACTUATOR", "dry-run")
            targets: set[tuple[str | None, str]] = set()
            path = env.get("WEDSYNC_AUTOSCALER_FILE")
            if actuator == "kubernetes":
                target_namespace = env.get("WEDSYNC_AUTOSCALER_KUBERNETES_NAMESPACE", namespace)
                if not path:
                    findings.append(Finding(label(doc), "autoscaler-config", "the kubernetes actuator without WEDSYNC_AUTOSCALER_FILE scales nothing"))
                else:
                    text = file_from_configmap(path, container, pod_spec, configmaps, namespace)
                    if text is None:
                        findings.append(Finding(label(doc), "autoscaler-config", f"{path} is not mounted from a ConfigMap in the output"))
                    else:
                        try:
                            blocks = (yaml.safe_load(text) or {}).get("targets") or {}
                        except yaml.YAMLError as error:
                            findings.append(Finding(label(doc), "autoscaler-config", f"{path} does not parse: {error}"))
                            blocks = {}
                        if not isinstance(blocks, dict) or not blocks:
                            findings.append(Finding(label(doc), "autoscaler-config", f"{path} has no targets"))
                            blocks = {}
                        for target, block in blocks.items():
                            name = (block or {}).get("deployment") or f"wedsync-{target}"
                            targets.add((target_namespace, str(name)))
            autoscalers.append(
                Autoscaler(
                    workload=doc,
                    namespace=namespace,
                    service_account=pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount") or "default",
                    actuator=actuator,
                    targets=targets,
                )
            )
            accounts = {(namespace_of(d), name_of(d)): d for d in docs if d.get("kind") == "ServiceAccount"}
            account = accounts.get((namespace, autoscalers[-1].service_account)) or {}
            mounted = pod_spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
            if actuator == "kubernetes" and mounted is False:
                findings.append(Finding(label(doc), "autoscaler-rbac", "the kubernetes actuator needs its service-account token mounted"))
    if not autoscalers:
        findings.append(Finding("(output)", "autoscaler-config", "no autoscaler (a container with WEDSYNC_AUTOSCALER_FILE or running wedsync-autoscaler)"))
    return autoscalers


def check_autoscaler_rbac(docs: list[dict], scaler: Autoscaler, findings: list[Finding]) -> None:
    where = label(scaler.workload)
    roles = {(d.get("kind"), namespace_of(d), name_of(d)): d for d in docs if d.get("kind") in ("Role", "ClusterRole")}
    owned_here = {name for ns, name in scaler.targets if ns == scaler.namespace}
    granted: set[tuple[str, str, str, str]] = set()  # (group, resource, verb, resourceName)
    for binding in docs:
        if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        binding_ns = namespace_of(binding) if binding["kind"] == "RoleBinding" else None
        bound = any(
            subject.get("kind") == "ServiceAccount"
            and subject.get("name") == scaler.service_account
            and (subject.get("namespace") or binding_ns) == scaler.namespace
            for subject in binding.get("subjects") or []
        )
        if not bound:
            continue
        ref = binding.get("roleRef") or {}
        if binding["kind"] == "ClusterRoleBinding" or ref.get("kind") == "ClusterRole":
            findings.append(Finding(label(binding), "autoscaler-rbac", f"binds a ClusterRole ({ref.get('name')}) to the autoscaler: a Role in its namespace is all it needs"))
            continue
        role = roles.get(("Role", binding_ns, ref.get("name")))
        if role is None:
            findings.append(Finding(label(binding), "autoscaler-rbac", f"binds Role {ref.get('name')}, which is not in the output"))
            continue
        for index, rule in enumerate(role.get("rules") or []):
            where_rule = f"rules[{index}]"
            if rule.get("nonResourceURLs"):
                findings.append(Finding(label(role), "autoscaler-rbac", f"{where_rule} grants non-resource URLs"))
                continue
            names = rule.get("resourceNames") or []
            if not names:
                findings.append(Finding(label(role), "autoscaler-rbac", f"{where_rule} is not restricted to the target Deployments by resourceNames"))
            elif set(names) - owned_here:
                findings.append(Finding(label(role), "autoscaler-rbac", f"{where_rule} names {', '.join(sorted(set(names) - owned_here))}, which the autoscaler does not scale"))
            for group in rule.get("apiGroups") or [""]:
                for resource in rule.get("resources") or []:
                    allowed = AUTOSCALER_ALLOWED.get((group, resource))
                    if allowed is None:
                        findings.append(Finding(label(role), "autoscaler-rbac", f"{where_rule} grants {resource or '?'} in group '{group}': only deployments and deployments/scale (apps) are needed"))
                        continue
                    extra = set(rule.get("verbs") or []) - allowed
                    if extra:
                        findings.append(Finding(label(role), "autoscaler-rbac", f"{where_rule} grants {', '.join(sorted(extra))} on {resource}: allowed {', '.join(sorted(allowed))}"))
                    for verb in rule.get("verbs") or []:
                        for name in names or ["*"]:
                            granted.add((group, resource, verb, name))
    if scaler.actuator != "kubernetes":
        return
    for ns, name in sorted(scaler.targets, key=lambda t: (t[0] or "", t[1])):
        if ns != scaler.namespace:
            findings.append(Finding(where, "autoscaler-rbac", f"target {name} is in namespace {ns}, not the autoscaler's: its Role cannot reach it"))
            continue
        for (group, resource), verbs in AUTOSCALER_REQUIRED.items():
            for verb in sorted(verbs):
                if (group, resource, verb, name) not in granted and (group, resource, verb, "*") not in granted:
                    findings.append(Finding(where, "autoscaler-rbac", f"the actuator needs {verb} on {resource} of {name}, which no Role bound to {scaler.service_account} grants"))


# --- the rules -------------------------------------------------------------------------------------------------


def check(docs: list[dict]) -> tuple[list[Finding], set[tuple[str | None, str]]]:
    """Every broken rule in one overlay's output, and the Deployments the autoscaler owns."""
    findings: list[Finding] = []

    for doc in docs:
        if doc.get("kind") == "Secret":
            findings.append(Finding(label(doc), "secret", "a Secret is committed: reference it (secretKeyRef) and let the operator create it"))

    for doc in docs:
        if doc.get("kind") not in ("Role", "ClusterRole"):
            continue
        for index, rule in enumerate(doc.get("rules") or []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                wild = [value for value in rule.get(field) or [] if "*" in str(value)]
                if wild:
                    findings.append(Finding(label(doc), "rbac-wildcard", f"rules[{index}].{field} has {', '.join(map(str, wild))}"))
        if doc.get("aggregationRule"):
            findings.append(Finding(label(doc), "rbac-wildcard", "an aggregated ClusterRole grants whatever matching roles grant"))

    for doc in docs:
        template = pod_template(doc)
        if template is None:
            continue
        pod_spec = template.get("spec") or {}
        pod_security = pod_spec.get("securityContext") or {}
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod_spec.get(flag):
                findings.append(Finding(label(doc), "security", f"{flag}: true"))
        for container in containers(pod_spec):
            where = f"container {container.get('name', '?')}"
            problem = image_problem(container.get("image"))
            if problem:
                findings.append(Finding(label(doc), "image", f"{where}: {problem}"))
            if container.get("imagePullPolicy") != "IfNotPresent":
                findings.append(Finding(label(doc), "image-pull-policy", f"{where}: imagePullPolicy is {container.get('imagePullPolicy', 'unset')}, not IfNotPresent"))
            security = container.get("securityContext") or {}
            if security.get("privileged"):
                findings.append(Finding(label(doc), "security", f"{where}: privileged"))
            if security.get("allowPrivilegeEscalation") is not False:
                findings.append(Finding(label(doc), "security", f"{where}: allowPrivilegeEscalation is not false"))
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                findings.append(Finding(label(doc), "security", f"{where}: capabilities do not drop ALL"))
            if (security.get("capabilities") or {}).get("add"):
                findings.append(Finding(label(doc), "security", f"{where}: adds capabilities"))
            run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            run_as_user = security.get("runAsUser", pod_security.get("runAsUser"))
            if run_as_non_root is not True or run_as_user == 0:
                findings.append(Finding(label(doc), "security", f"{where}: not runAsNonRoot"))
        if doc.get("kind") in SERVING_KINDS:
            for container in containers(pod_spec, init=False):
                where = f"container {container.get('name', '?')}"
                for probe in ("livenessProbe", "readinessProbe"):
                    if not container.get(probe):
                        findings.append(Finding(label(doc), "probes", f"{where} has no {probe}"))
                resources = container.get("resources") or {}
                for section in ("requests", "limits"):
                    for resource in ("cpu", "memory"):
                        if not (resources.get(section) or {}).get(resource):
                            findings.append(Finding(label(doc), "resources", f"{where} has no {resource} {section[:-1]}"))

    configmaps = {(namespace_of(d), name_of(d)): d for d in docs if d.get("kind") == "ConfigMap"}
    for doc in docs:
        template = pod_template(doc)
        if template is None:
            continue
        pod_spec = template.get("spec") or {}
        for container in containers(pod_spec):
            env = container_env(container, configmaps, namespace_of(doc))
            for key, path in sorted(env.items()):
                if key.startswith("WEDSYNC_") and key.endswith("_FILE") and path.startswith("/"):
                    if file_from_configmap(path, container, pod_spec, configmaps, namespace_of(doc)) is None:
                        findings.append(Finding(label(doc), "config-file", f"container {container.get('name', '?')}: {key}={path} is in no ConfigMap mounted there"))

    autoscalers = find_autoscalers(docs, findings)
    owned: set[tuple[str | None, str]] = set()
    for scaler in autoscalers:
        owned |= scaler.targets
    deployments = {(namespace_of(d), name_of(d)): d for d in docs if d.get("kind") == "Deployment"}
    for key in sorted(owned, key=lambda t: (t[0] or "", t[1])):
        deployment = deployments.get(key)
        if deployment is None:
            findings.append(Finding(f"Deployment/{key[0] + '/' if key[0] else ''}{key[1]}", "autoscaler-target", "an autoscaling.yaml target names this Deployment, and the output has none (the actuator would fail on every tick)"))
        elif "replicas" in (deployment.get("spec") or {}):
            findings.append(Finding(label(deployment), "autoscaler-replicas", "the autoscaler owns this Deployment's scale: remove `replicas` (every apply would reset it)"))
    # The autoscaler's service accounts: what is bound to them, and whether it is enough.
    for scaler in autoscalers:
        check_autoscaler_rbac(docs, scaler, findings)

    pdbs = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    for doc in docs:
        if doc.get("kind") not in SERVING_KINDS:
            continue
        key = (namespace_of(doc), name_of(doc))
        replicas = (doc.get("spec") or {}).get("replicas", 1)
        is_owned = doc.get("kind") == "Deployment" and key in owned
        if not (is_owned or (isinstance(replicas, int) and replicas > 1)):
            continue
        labels = ((pod_template(doc) or {}).get("metadata") or {}).get("labels") or {}
        if not any(namespace_of(pdb) == key[0] and selector_matches((pdb.get("spec") or {}).get("selector"), labels) for pdb in pdbs):
            why = "the autoscaler scales it" if is_owned else f"{replicas} replicas"
            findings.append(Finding(label(doc), "pdb", f"{why}, and no PodDisruptionBudget selects its pods"))

    return findings, owned


def main(argv: list[str]) -> int:
    sources = [arg for arg in argv if arg != "--quiet"]
    quiet = "--quiet" in argv
    if not sources:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    failed = False
    for source in sources:
        try:
            docs = read_source(source)
        except (OSError, RuntimeError, yaml.YAMLError) as error:
            print(f"ERROR {source}: {error}", file=sys.stderr)
            return 2
        findings, owned = check(docs)
        for finding in findings:
            print(f"FAIL {source}: {finding}")
        failed |= bool(findings)
        if not findings and not quiet:
            names = ", ".join(name for _, name in sorted(owned, key=lambda t: (t[0] or "", t[1]))) or "nothing"
            print(f"ok {source}: {len(docs)} objects, every rule kept; the autoscaler owns {names}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
