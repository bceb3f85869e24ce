#!/usr/bin/env python3
"""Tests of check.py: the real overlays keep every rule, and each rule catches a deliberately broken output.

    python3 -m unittest discover -s infrastructure/k8s -p test_check.py

The broken outputs are the local overlay's own rendering with one thing changed, so each test also proves the rule
holds on the manifests as they are. Rendering needs kubectl (offline: `kubectl kustomize`, no cluster).
"""

from __future__ import annotations

import copy
import os
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

OVERLAYS = os.path.join(check.HERE, "overlays")
NS = "wedsync"


class Rendered:
    """Each overlay rendered once for the whole run."""

    cache: dict[str, list[dict]] = {}

    @classmethod
    def docs(cls, overlay: str) -> list[dict]:
        if overlay not in cls.cache:
            cls.cache[overlay] = check.load(check.render(os.path.join(OVERLAYS, overlay)))
        return copy.deepcopy(cls.cache[overlay])


def find(docs: list[dict], kind: str, name: str) -> dict:
    for doc in docs:
        if doc.get("kind") == kind and check.name_of(doc) == name:
            return doc
    raise AssertionError(f"{kind}/{name} is not in the output")


def container(doc: dict, name: str) -> dict:
    for entry in check.pod_template(doc)["spec"]["containers"]:
        if entry["name"] == name:
            return entry
    raise AssertionError(f"no container {name} in {check.label(doc)}")


def autoscaling_configmap(docs: list[dict]) -> dict:
    """The ConfigMap the autoscaler's file comes from (its name carries kustomize's hash)."""
    deployment = find(docs, "Deployment", "wedsync-autoscaler")
    volume = next(v for v in check.pod_template(deployment)["spec"]["volumes"] if v["name"] == "config")
    return find(docs, "ConfigMap", volume["configMap"]["name"])


def add_target(docs: list[dict], name: str, block: dict) -> None:
    """Adds a target to the autoscaling file the rendered ConfigMap holds."""
    configmap = autoscaling_configmap(docs)
    autoscaling = yaml.safe_load(configmap["data"]["autoscaling.yaml"])
    autoscaling["targets"][name] = block
    configmap["data"]["autoscaling.yaml"] = yaml.safe_dump(autoscaling)


class RealOverlays(unittest.TestCase):
    def test_each_overlay_keeps_every_rule(self):
        for overlay in sorted(os.listdir(OVERLAYS)):
            with self.subTest(overlay=overlay):
                findings, owned = check.check(Rendered.docs(overlay))
                self.assertEqual([], [str(f) for f in findings])
                # Derived from infrastructure/autoscaling.yaml's targets (api, cache), not listed anywhere.
                self.assertEqual({(NS, "wedsync-api"), (NS, "wedsync-cache")}, owned)

    def test_the_owned_deployments_follow_the_autoscaling_file(self):
        with open(os.path.join(check.HERE, "..", "autoscaling.yaml"), encoding="utf-8") as handle:
            targets = yaml.safe_load(handle)["targets"]
        expected = {(NS, (block or {}).get("deployment") or f"wedsync-{name}") for name, block in targets.items()}
        _, owned = check.check(Rendered.docs("production"))
        self.assertEqual(expected, owned)


class BrokenOutputs(unittest.TestCase):
    def setUp(self):
        self.docs = Rendered.docs("local")

    def assertCaught(self, rule: str, obj: str, contains: str = "") -> None:
        findings, _ = check.check(self.docs)
        matching = [f for f in findings if f.rule == rule and f.obj == obj and contains in f.message]
        self.assertTrue(matching, f"expected {rule} on {obj}; got {[str(f) for f in findings]}")

    def assertNotCaught(self, rule: str, obj: str) -> None:
        findings, _ = check.check(self.docs)
        self.assertFalse([f for f in findings if f.rule == rule and f.obj == obj], [str(f) for f in findings])

    # The autoscaler's Deployments.

    def test_replicas_on_a_deployment_the_autoscaler_scales(self):
        find(self.docs, "Deployment", "wedsync-api")["spec"]["replicas"] = 2
        self.assertCaught("autoscaler-replicas", f"Deployment/{NS}/wedsync-api")

    def test_the_cache_target_counts_too(self):
        find(self.docs, "Deployment", "wedsync-cache")["spec"]["replicas"] = 2
        self.assertCaught("autoscaler-replicas", f"Deployment/{NS}/wedsync-cache")

    def test_a_target_naming_its_deployment_makes_it_owned(self):
        add_target(self.docs, "edge", {"deployment": "wedsync-gateway", "max-replicas": 4})
        # The gateway has replicas: 1 in this overlay: now the autoscaler's, so it must not; and its Role is short.
        self.assertCaught("autoscaler-replicas", f"Deployment/{NS}/wedsync-gateway")
        self.assertCaught("autoscaler-rbac", f"Deployment/{NS}/wedsync-autoscaler", "wedsync-gateway")

    def test_a_target_without_its_deployment(self):
        add_target(self.docs, "search", {"max-replicas": 2})
        self.assertCaught("autoscaler-target", f"Deployment/{NS}/wedsync-search")

    def test_the_dry_run_actuator_owns_nothing_and_needs_no_role(self):
        env = container(find(self.docs, "Deployment", "wedsync-autoscaler"), "autoscaler")["env"]
        next(e for e in env if e["name"] == "WEDSYNC_AUTOSCALER_ACTUATOR")["value"] = "dry-run"
        find(self.docs, "Deployment", "wedsync-api")["spec"]["replicas"] = 2
        self.assertNotCaught("autoscaler-replicas", f"Deployment/{NS}/wedsync-api")
        self.assertCaught("autoscaler-rbac", f"Role/{NS}/wedsync-autoscaler", "does not scale")

    def test_an_autoscaler_file_not_in_the_output(self):
        deployment = find(self.docs, "Deployment", "wedsync-autoscaler")
        container(deployment, "autoscaler")["volumeMounts"] = [
            m for m in container(deployment, "autoscaler")["volumeMounts"] if m["name"] != "config"
        ]
        self.assertCaught("autoscaler-config", f"Deployment/{NS}/wedsync-autoscaler")

    def test_a_configuration_file_the_configmap_lacks(self):
        env = container(find(self.docs, "Deployment", "wedsync-gateway"), "gateway")["env"]
        next(e for e in env if e["name"] == "WEDSYNC_GATEWAY_ROUTES_FILE")["value"] = "/etc/wedsync/routes.yaml"
        self.assertCaught("config-file", f"Deployment/{NS}/wedsync-gateway", "WEDSYNC_GATEWAY_ROUTES_FILE")

    # RBAC.

    def test_a_wildcard_role(self):
        self.docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "too-much", "namespace": NS},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}],
            }
        )
        self.assertCaught("rbac-wildcard", f"Role/{NS}/too-much", "verbs")

    def test_a_wildcard_cluster_role(self):
        self.docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "everything"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}],
            }
        )
        self.assertCaught("rbac-wildcard", "ClusterRole/everything", "apiGroups")

    def test_the_autoscaler_role_granting_more_verbs(self):
        role = find(self.docs, "Role", "wedsync-autoscaler")
        role["rules"][0]["verbs"] = ["get", "list", "watch"]
        self.assertCaught("autoscaler-rbac", f"Role/{NS}/wedsync-autoscaler", "list, watch")

    def test_the_autoscaler_role_granting_another_resource(self):
        role = find(self.docs, "Role", "wedsync-autoscaler")
        role["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": ["wedsync-api"]})
        self.assertCaught("autoscaler-rbac", f"Role/{NS}/wedsync-autoscaler", "pods")

    def test_the_autoscaler_role_on_every_deployment(self):
        role = find(self.docs, "Role", "wedsync-autoscaler")
        del role["rules"][1]["resourceNames"]
        self.assertCaught("autoscaler-rbac", f"Role/{NS}/wedsync-autoscaler", "resourceNames")

    def test_the_autoscaler_role_short_of_the_patch(self):
        role = find(self.docs, "Role", "wedsync-autoscaler")
        role["rules"] = [r for r in role["rules"] if r["resources"] != ["deployments/scale"]]
        self.assertCaught("autoscaler-rbac", f"Deployment/{NS}/wedsync-autoscaler", "patch on deployments/scale")

    def test_a_cluster_role_binding_for_the_autoscaler(self):
        self.docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "autoscaler-view"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "wedsync-autoscaler", "namespace": NS}],
            }
        )
        self.assertCaught("autoscaler-rbac", "ClusterRoleBinding/autoscaler-view", "ClusterRole")

    def test_the_autoscaler_without_its_token(self):
        # Its ServiceAccount mounts no token by default; the pod must ask for it.
        del check.pod_template(find(self.docs, "Deployment", "wedsync-autoscaler"))["spec"]["automountServiceAccountToken"]
        self.assertCaught("autoscaler-rbac", f"Deployment/{NS}/wedsync-autoscaler", "token")

    # Workloads.

    def test_a_missing_readiness_probe(self):
        del container(find(self.docs, "Deployment", "wedsync-gateway"), "gateway")["readinessProbe"]
        self.assertCaught("probes", f"Deployment/{NS}/wedsync-gateway", "readinessProbe")

    def test_a_missing_liveness_probe_on_a_statefulset(self):
        del container(find(self.docs, "StatefulSet", "wedsync-redis"), "redis")["livenessProbe"]
        self.assertCaught("probes", f"StatefulSet/{NS}/wedsync-redis", "livenessProbe")

    def test_a_missing_memory_limit(self):
        del container(find(self.docs, "StatefulSet", "wedsync-metrics"), "metrics")["resources"]["limits"]["memory"]
        self.assertCaught("resources", f"StatefulSet/{NS}/wedsync-metrics", "memory limit")

    def test_a_missing_pdb_for_several_replicas(self):
        find(self.docs, "Deployment", "wedsync-gateway")["spec"]["replicas"] = 3
        self.docs = [d for d in self.docs if not (d["kind"] == "PodDisruptionBudget" and check.name_of(d) == "wedsync-gateway")]
        self.assertCaught("pdb", f"Deployment/{NS}/wedsync-gateway", "3 replicas")

    def test_a_missing_pdb_for_an_autoscaled_deployment(self):
        self.docs = [d for d in self.docs if not (d["kind"] == "PodDisruptionBudget" and check.name_of(d) == "wedsync-api")]
        self.assertCaught("pdb", f"Deployment/{NS}/wedsync-api", "autoscaler")

    def test_a_pdb_selecting_other_pods(self):
        pdb = find(self.docs, "PodDisruptionBudget", "wedsync-redis")
        pdb["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "redis"}}
        self.assertCaught("pdb", f"StatefulSet/{NS}/wedsync-redis")

    def test_a_committed_secret(self):
        self.docs.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wedsync-secrets", "namespace": NS}, "data": {"admin-token": "c2VjcmV0"}}
        )
        self.assertCaught("secret", f"Secret/{NS}/wedsync-secrets")

    def test_an_image_tagged_latest(self):
        container(find(self.docs, "Deployment", "wedsync-api"), "api")["image"] = "wedsync/api:latest"
        self.assertCaught("image", f"Deployment/{NS}/wedsync-api", "latest")

    def test_an_image_without_a_tag(self):
        container(find(self.docs, "StatefulSet", "wedsync-redis"), "redis")["image"] = "registry.local:5000/redis"
        self.assertCaught("image", f"StatefulSet/{NS}/wedsync-redis", "no tag")

    def test_privilege_escalation(self):
        del container(find(self.docs, "Deployment", "wedsync-cache"), "cache")["securityContext"]["allowPrivilegeEscalation"]
        self.assertCaught("security", f"Deployment/{NS}/wedsync-cache", "allowPrivilegeEscalation")


class Helpers(unittest.TestCase):
    def test_image_tags(self):
        self.assertIsNone(check.image_problem("wedsync/api:1.2.3"))
        self.assertIsNone(check.image_problem("registry.local:5000/wedsync/api:dev"))
        self.assertIsNone(check.image_problem("wedsync/api@sha256:" + "0" * 64))
        self.assertIn("no tag", check.image_problem("registry.local:5000/wedsync/api"))
        self.assertIn("latest", check.image_problem("redis:latest"))

    def test_selectors(self):
        labels = {"app": "a", "tier": "web"}
        self.assertTrue(check.selector_matches({"matchLabels": {"app": "a"}}, labels))
        self.assertFalse(check.selector_matches({"matchLabels": {"app": "b"}}, labels))
        self.assertTrue(check.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, labels))
        self.assertFalse(check.selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels))
        self.assertTrue(check.selector_matches({}, labels))
        self.assertFalse(check.selector_matches(None, labels))


if __name__ == "__main__":
    unittest.main()
