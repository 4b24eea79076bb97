#!/usr/bin/env python3
"""The Kubernetes manifests in deploy/ hold together.

usage: manifests_test.py SOURCE_DIR AMAS_SCALER_BINARY

- every document in deploy/kubernetes/*.yaml and deploy/rbac.yaml has
  apiVersion, kind and metadata.name (and the kinds' required fields);
- the Deployment's selector matches its template labels, its containers have
  an image, ports and readiness/liveness probes on named ports that exist,
  the config file and --storage.path are mounted;
- the Service, PodDisruptionBudget, NetworkPolicy and ServiceMonitor select
  the Deployment's pods and name ports that exist;
- kustomization.yaml lists every manifest file and only existing ones;
- RBAC grants only get/patch/update on */scale resources: no wildcard, no
  other verb or resource, no ClusterRole;
- the config embedded in configmap.yaml passes `amas-scaler check config`.
"""
import glob
import os
import subprocess
import sys
import tempfile

import yaml

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_common(doc, where):
    for field in ("apiVersion", "kind"):
        check(doc.get(field), "%s: missing %s" % (where, field))
    check((doc.get("metadata") or {}).get("name"), "%s: missing metadata.name" % where)


def check_deployment(where, d):
    spec = d.get("spec") or {}
    tmpl = spec.get("template") or {}
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    check(selects(sel, labels), "%s: selector %s does not match template labels %s" %
          (where, sel, labels))
    pod = tmpl.get("spec") or {}
    containers = pod.get("containers") or []
    check(containers, "%s: no containers" % where)
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    ports = set()
    for c in containers:
        cw = "%s container %s" % (where, c.get("name"))
        check(c.get("name"), "%s: container without a name" % where)
        check(c.get("image"), "%s: no image" % cw)
        cports = c.get("ports") or []
        check(cports, "%s: no ports" % cw)
        for p in cports:
            check(isinstance(p.get("containerPort"), int), "%s: port without containerPort" % cw)
            ports.add(p.get("name"))
            ports.add(p.get("containerPort"))
        for probe in ("readinessProbe", "livenessProbe"):
            pr = c.get(probe)
            if check(pr and pr.get("httpGet"), "%s: no %s.httpGet" % (cw, probe)):
                check(pr["httpGet"].get("port") in ports,
                      "%s: %s port %r is not a container port" % (cw, probe, pr["httpGet"].get("port")))
                check(str(pr["httpGet"].get("path", "")).startswith("/-/"),
                      "%s: %s path should be /-/ready or /-/healthy" % (cw, probe))
        mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
        for m in mounts.values():
            check(m.get("name") in volumes, "%s: mount %s of unknown volume %s" %
                  (cw, m.get("mountPath"), m.get("name")))
        for arg in c.get("args") or []:
            if arg.startswith("--config.file="):
                check(arg.split("=", 1)[1] in mounts, "%s: %s is not mounted" % (cw, arg))
            if arg.startswith("--storage.path="):
                check(arg.split("=", 1)[1] in mounts, "%s: %s is not mounted" % (cw, arg))
    return labels, ports, volumes


def check_rbac(doc, where):
    kind = doc.get("kind")
    check(kind not in ("ClusterRole", "ClusterRoleBinding"),
          "%s: %s grants cluster-wide rights; use a namespaced Role" % (where, kind))
    if kind != "Role":
        return
    rules = doc.get("rules") or []
    check(rules, "%s: Role without rules" % where)
    for i, r in enumerate(rules):
        rw = "%s rules[%d]" % (where, i)
        check(not r.get("nonResourceURLs"), "%s: nonResourceURLs" % rw)
        for g in r.get("apiGroups") or []:
            check("*" not in g, "%s: wildcard apiGroup %r" % (rw, g))
        resources = r.get("resources") or []
        check(resources, "%s: no resources" % rw)
        for res in resources:
            check("*" not in res, "%s: wildcard resource %r" % (rw, res))
            check(res.endswith("/scale"), "%s: resource %r is not a scale subresource" % (rw, res))
        verbs = r.get("verbs") or []
        check(verbs, "%s: no verbs" % rw)
        for v in verbs:
            check(v in ("get", "patch", "update"), "%s: verb %r beyond get/patch/update" % (rw, v))


def main():
    root, binary = sys.argv[1], sys.argv[2]
    kdir = os.path.join(root, "deploy", "kubernetes")
    files = sorted(glob.glob(os.path.join(kdir, "*.yaml")))
    docs = []
    for path in files + [os.path.join(root, "deploy", "rbac.yaml")]:
        try:
            for i, d in enumerate(load(path)):
                docs.append(("%s#%d" % (os.path.relpath(path, root), i), d))
        except yaml.YAMLError as e:
            check(False, "%s: not valid YAML: %s" % (path, e))
    by_kind = {}
    for where, d in docs:
        if d.get("kind") != "Kustomization":
            check_common(d, where)
        by_kind.setdefault(d.get("kind"), []).append((where, d))
        check_rbac(d, where)

    deployments = by_kind.get("Deployment", [])
    check(len(deployments) == 1, "expected one Deployment, found %d" % len(deployments))
    labels, ports, volumes = check_deployment(*deployments[0]) if deployments else ({}, set(), {})

    for where, s in by_kind.get("Service", []):
        spec = s.get("spec") or {}
        check(selects(spec.get("selector"), labels), "%s: selector does not select the pods" % where)
        for p in spec.get("ports") or []:
            check(isinstance(p.get("port"), int), "%s: port without a number" % where)
            check(p.get("targetPort", p.get("port")) in ports,
                  "%s: targetPort %r is not a container port" % (where, p.get("targetPort")))
    service_ports = {p.get("name") for _, s in by_kind.get("Service", [])
                     for p in (s.get("spec") or {}).get("ports") or []}
    service_labels = [(s.get("metadata") or {}).get("labels") or {}
                      for _, s in by_kind.get("Service", [])]
    for where, m in by_kind.get("ServiceMonitor", []):
        spec = m.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels")
        check(any(selects(sel, sl) for sl in service_labels),
              "%s: selector matches no Service's labels" % where)
        for e in spec.get("endpoints") or []:
            check(e.get("port") in service_ports, "%s: endpoint port %r is not a Service port" %
                  (where, e.get("port")))
    for where, p in by_kind.get("PodDisruptionBudget", []):
        spec = p.get("spec") or {}
        check(selects((spec.get("selector") or {}).get("matchLabels"), labels),
              "%s: selector does not select the pods" % where)
        check(("minAvailable" in spec) != ("maxUnavailable" in spec),
              "%s: exactly one of minAvailable / maxUnavailable" % where)
    for where, n in by_kind.get("NetworkPolicy", []):
        spec = n.get("spec") or {}
        check(selects((spec.get("podSelector") or {}).get("matchLabels"), labels),
              "%s: podSelector does not select the pods" % where)
        for rule in spec.get("ingress") or []:
            for p in rule.get("ports") or []:
                check(p.get("port") in ports, "%s: ingress port %r is not a container port" %
                      (where, p.get("port")))
    namespaces = {(d.get("metadata") or {}).get("name") for _, d in by_kind.get("Namespace", [])}
    for where, d in docs:
        ns = (d.get("metadata") or {}).get("namespace")
        if where.startswith("deploy/kubernetes/") and ns is not None:
            check(ns in namespaces, "%s: namespace %s is not created by deploy/kubernetes" %
                  (where, ns))

    # kustomization.yaml: every manifest, and only files that exist.
    for where, k in by_kind.get("Kustomization", []):
        listed = set(k.get("resources") or [])
        present = {os.path.basename(f) for f in files} - {"kustomization.yaml"}
        for r in sorted(listed - present):
            check(False, "%s: lists %s, which does not exist" % (where, r))
        for r in sorted(present - listed):
            check(False, "%s: does not list %s" % (where, r))

    # The Deployment's ServiceAccount exists (in rbac.yaml).
    for where, d in deployments:
        sa = (d["spec"]["template"].get("spec") or {}).get("serviceAccountName")
        check(any((s.get("metadata") or {}).get("name") == sa for _, s in by_kind.get("ServiceAccount", [])),
              "%s: serviceAccountName %r is defined nowhere" % (where, sa))
    bindings = by_kind.get("RoleBinding", [])
    check(bindings, "deploy/rbac.yaml: no RoleBinding")

    # The config in the ConfigMap passes `amas-scaler check config`.
    checked_config = False
    for where, c in by_kind.get("ConfigMap", []):
        for key, text in (c.get("data") or {}).items():
            if not key.endswith((".yml", ".yaml")):
                continue
            with tempfile.TemporaryDirectory(prefix="amas-deploy-") as tmp:
                path = os.path.join(tmp, key)
                with open(path, "w") as f:
                    f.write(text)
                r = subprocess.run([binary, "check", "config", path], capture_output=True, text=True)
                check(r.returncode == 0, "%s data[%s]: amas-scaler check config failed (exit %d): %s" %
                      (where, key, r.returncode, (r.stdout + r.stderr).strip()))
                checked_config = True
    check(checked_config, "no config file found in a ConfigMap")

    for f in failures:
        print("FAIL " + f)
    print("%d manifests in %d files checked, %d problems" %
          (len(docs), len(files) + 1, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
