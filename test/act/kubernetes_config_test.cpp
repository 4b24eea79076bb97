// Kubernetes actuator pieces that need no server: config loading, resource
// paths, error messages.
#include <catch2/catch.hpp>

#include <fstream>

#include "act/kubernetes.h"
#include "act/kubernetes_internal.h"
#include "testing/testing.h"

namespace amas::act {
namespace {

using amas::testing::TempDir;
using core::Status;

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST_CASE("base64 as kubeconfig *-data fields use it") {
  CHECK(*k8s_internal::Base64Decode("aGVsbG8=") == "hello");
  CHECK(*k8s_internal::Base64Decode("aGVs\nbG8h") == "hello!");
  CHECK(*k8s_internal::Base64Decode("") == "");
  CHECK_FALSE(k8s_internal::Base64Decode("aGV*bG8=").ok());
  CHECK_FALSE(k8s_internal::Base64Decode("a").ok());
}

TEST_CASE("scale subresource paths for built-in and custom resources") {
  struct Row {
    const char *api_version, *resource, *ns, *name, *path, *describe;
  };
  const Row rows[] = {
      {"apps/v1", "Deployment", "default", "backend",
       "/apis/apps/v1/namespaces/default/deployments/backend/scale", "deployment default/backend"},
      {"apps/v1", "statefulsets", "db", "postgres-replica",
       "/apis/apps/v1/namespaces/db/statefulsets/postgres-replica/scale",
       "statefulset db/postgres-replica"},
      {"example.com/v1", "widgets", "amas", "w1",
       "/apis/example.com/v1/namespaces/amas/widgets/w1/scale", "widgets.example.com amas/w1"},
      {"v1", "replicationcontrollers", "default", "rc",
       "/api/v1/namespaces/default/replicationcontrollers/rc/scale",
       "replicationcontrollers default/rc"},
  };
  for (const Row& row : rows) {
    auto ref = MakeScaleRef(row.api_version, row.resource, row.ns, row.name);
    REQUIRE(ref.ok());
    CHECK(ref->Path() == row.path);
    CHECK(ref->Describe() == row.describe);
  }
  CHECK(MakeScaleRef("apps/v1", "deployments", "default", "../x").status().IsInvalidArgument());
  CHECK(MakeScaleRef("apps/v1", "deployments", "Default", "x").status().IsInvalidArgument());
  CHECK(MakeScaleRef("apps/v1", "deploy/ments", "default", "x").status().IsInvalidArgument());
  CHECK(MakeScaleRef("", "deployments", "default", "x").status().IsInvalidArgument());
}

TEST_CASE("HTTP errors become errors that name the resource and what to check") {
  const std::string forbidden =
      R"({"kind":"Status","message":"deployments.apps \"backend\" is forbidden","reason":"Forbidden","code":403})";
  Status s = k8s_internal::ErrorForResponse(403, forbidden, "PATCH", "deployment default/backend",
                                            "deployments", "default");
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(s.message() ==
        "deployment default/backend: PATCH scale: HTTP 403 Forbidden (deployments.apps "
        "\"backend\" is forbidden): grant get and patch on deployments/scale in namespace "
        "default (see deploy/rbac.yaml)");
  CHECK(k8s_internal::ErrorForResponse(401, "", "GET", "d", "deployments", "ns").code() ==
        Status::Code::kUnauthenticated);
  CHECK(k8s_internal::ErrorForResponse(404, "", "GET", "d", "deployments", "ns").IsNotFound());
  CHECK(k8s_internal::ErrorForResponse(503, "", "GET", "d", "deployments", "ns").IsUnavailable());
  CHECK(k8s_internal::ErrorForResponse(429, "", "GET", "d", "deployments", "ns").IsUnavailable());
  CHECK(
      k8s_internal::ErrorForResponse(422, "", "GET", "d", "deployments", "ns").IsInvalidArgument());
  CHECK(k8s_internal::ErrorForResponse(409, "", "GET", "d", "deployments", "ns").code() ==
        Status::Code::kAborted);
}

TEST_CASE("in-cluster config reads the service account folder") {
  TempDir dir;
  Write(dir.path() + "/token", "eyJhbGciOi.token\n");
  Write(dir.path() + "/ca.crt", "-----BEGIN CERTIFICATE-----\n");
  Write(dir.path() + "/namespace", "amas");
  auto c = InClusterConfig("10.96.0.1", "443", dir.path());
  REQUIRE(c.ok());
  CHECK(c->server == "https://10.96.0.1:443");
  CHECK(c->token == "eyJhbGciOi.token");
  CHECK(c->token_file == dir.path() + "/token");
  CHECK(c->ca_file == dir.path() + "/ca.crt");
  CHECK(c->namespace_name == "amas");
  CHECK(InClusterConfig("fd00::1", "443", dir.path())->server == "https://[fd00::1]:443");
  Status not_pod = InClusterConfig("", "", dir.path()).status();
  CHECK(not_pod.code() == Status::Code::kFailedPrecondition);
  CHECK(not_pod.message().find("KUBERNETES_SERVICE_HOST") != std::string::npos);
  TempDir empty;
  CHECK(InClusterConfig("10.96.0.1", "443", empty.path()).status().message().find("token") !=
        std::string::npos);
}

constexpr const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://k8s.example:6443
    certificate-authority-data: Q0EgUEVN
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority: certs/ca.crt
    insecure-skip-tls-verify: true
contexts:
- name: prod
  context: {cluster: prod-cluster, user: robot, namespace: amas}
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
- name: plugin
  context: {cluster: dev-cluster, user: sso}
- name: broken
  context: {cluster: nowhere, user: robot}
users:
- name: robot
  user:
    token: abc.def
- name: dev-user
  user:
    client-certificate: certs/client.crt
    client-key: /abs/client.key
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: sso
  user:
    exec: {command: aws, args: [eks, get-token]}
)";

TEST_CASE("kubeconfig: current context with a token") {
  TempDir dir;
  Write(dir.path() + "/config", kKubeconfig);
  auto c = LoadKubeconfig(dir.path() + "/config");
  REQUIRE(c.ok());
  CHECK(c->server == "https://k8s.example:6443");
  CHECK(c->token == "abc.def");
  CHECK(c->ca_pem == "CA PEM");
  CHECK(c->namespace_name == "amas");
  CHECK_FALSE(c->insecure_skip_tls_verify);
}

TEST_CASE("kubeconfig: a named context with a client certificate") {
  TempDir dir;
  Write(dir.path() + "/config", kKubeconfig);
  auto c = LoadKubeconfig(dir.path() + "/config", "dev");
  REQUIRE(c.ok());
  CHECK(c->ca_file == dir.path() + "/certs/ca.crt");  // relative to the kubeconfig
  CHECK(c->client_cert_file == dir.path() + "/certs/client.crt");
  CHECK(c->client_key_file == "/abs/client.key");
  CHECK(c->client_cert_pem == "CERT");
  CHECK(c->client_key_pem == "KEY");
  CHECK(c->insecure_skip_tls_verify);
  CHECK(c->token.empty());
  CHECK(c->namespace_name == "default");
}

TEST_CASE("kubeconfig errors say where") {
  TempDir dir;
  const std::string path = dir.path() + "/config";
  Write(path, kKubeconfig);
  Status plugin = LoadKubeconfig(path, "plugin").status();
  CHECK(plugin.IsUnimplemented());
  CHECK(plugin.message() == path +
                                ":35:11: user \"sso\" uses an exec credential plugin; use a "
                                "token or a client certificate");
  Status broken = LoadKubeconfig(path, "broken").status();
  CHECK(broken.IsNotFound());
  CHECK(broken.message() == path + ":22:12: cluster \"nowhere\" not found in clusters");
  Status missing = LoadKubeconfig(path, "staging").status();
  CHECK(missing.message() == path + ":1:1: context \"staging\" not found in contexts");
  Write(path, "clusters: [\n  - name: x\n");
  Status parse = LoadKubeconfig(path).status();
  CHECK(parse.IsInvalidArgument());
  CHECK(parse.message().rfind(path + ":", 0) == 0);
  CHECK(LoadKubeconfig(dir.path() + "/nope").status().IsNotFound());
}

TEST_CASE("kubeconfig tokenFile is read, relative to the file") {
  TempDir dir;
  Write(dir.path() + "/tok", "from-file\n");
  Write(dir.path() + "/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {tokenFile: tok}}]
)");
  auto c = LoadKubeconfig(dir.path() + "/config");
  REQUIRE(c.ok());
  CHECK(c->token == "from-file");
  CHECK(c->token_file == dir.path() + "/tok");
}

}  // namespace
}  // namespace amas::act
