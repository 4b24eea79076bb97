// The kubernetes actuator against test/k8s_standin (a stand-in for the API
// server that follows the documented scale-subresource semantics; it is not
// Kubernetes). Each case starts its own stand-in on a free loopback port.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "act/exec_process.h"
#include "act/executor.h"
#include "act/kubernetes.h"
#include "executor_fakes.h"
#include "k8s_standin.h"

namespace amas::act {
namespace {

using core::Duration;
using core::Status;
using testing::StandIn;
using testing::SystemClock;
using testing::ThreadSleeper;

constexpr const char* kToken = "s3cr3t-token";

struct Rig {
  SystemClock clock;
  ThreadSleeper sleeper;
  StandIn standin;
  std::shared_ptr<KubeClient> client;

  explicit Rig(std::vector<std::string> extra = {}, KubeClientOptions opts = Fast(),
               std::string token = kToken)
      : standin(Args(std::move(extra))) {
    REQUIRE(standin.running());
    KubeConfig cfg;
    cfg.server = standin.url();
    cfg.token = std::move(token);
    auto c = KubeClient::Create(cfg, opts, &clock, &sleeper);
    REQUIRE(c.ok());
    client = *c;
  }
  static KubeClientOptions Fast() {
    KubeClientOptions o;
    o.qps = 0;  // unlimited unless a case is about the limit
    o.timeout = Duration::Millis(400);
    o.connect_timeout = Duration::Millis(400);
    return o;
  }
  static std::vector<std::string> Args(std::vector<std::string> extra) {
    std::vector<std::string> a = {"--token",
                                  kToken,
                                  "--forbidden-namespace",
                                  "kube-system",
                                  "--object",
                                  "apps/v1/deployments/default/backend=3",
                                  "--object",
                                  "apps/v1/statefulsets/db/postgres-replica=2",
                                  "--object",
                                  "example.com/v1/widgets/amas/w1=1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::unique_ptr<KubernetesActuator> Actuator(const char* api_version, const char* resource,
                                               const char* ns, const char* name) {
    auto ref = MakeScaleRef(api_version, resource, ns, name);
    REQUIRE(ref.ok());
    return std::make_unique<KubernetesActuator>(client, *ref);
  }
  std::unique_ptr<KubernetesActuator> Backend() {
    return Actuator("apps/v1", "deployments", "default", "backend");
  }
  std::unique_ptr<Executor> Exec(std::unique_ptr<act::Actuator> a) {
    TargetPolicy p;
    p.target = "backend";
    p.min_replicas = 1;
    p.max_replicas = 50;
    RetryPolicy r;
    r.initial_backoff = Duration::Millis(50);
    r.max_backoff = Duration::Millis(200);
    auto e = Executor::Create(std::move(a), p, r, {&clock, &sleeper});
    REQUIRE(e.ok());
    return std::move(e).value();
  }
  void Fault(const std::string& json) { REQUIRE(standin.Post("/_standin/faults", json) == 200); }
  std::pair<int, int> BackendObject() {
    return standin.Object("apps", "deployments", "default", "backend");
  }
};

ActionRequest Want(int32_t n) {
  ActionRequest r;
  r.desired = n;
  return r;
}

TEST_CASE("GET and merge-PATCH the scale subresource", "[integration]") {
  Rig rig;
  auto a = rig.Backend();
  CHECK(a->Describe() == "deployment default/backend");
  CHECK(*a->Current() == 3);
  REQUIRE(a->Apply(5, {}).ok());
  CHECK(rig.BackendObject() == std::pair{5, 1});
  CHECK(*a->Current() == 5);
  REQUIRE(a->Apply(5, {}).ok());  // idempotent: no write
  CHECK(rig.BackendObject() == std::pair{5, 1});
}

TEST_CASE("statefulsets and custom resources with a scale subresource", "[integration]") {
  Rig rig;
  auto sts = rig.Actuator("apps/v1", "StatefulSet", "db", "postgres-replica");
  CHECK(*sts->Current() == 2);
  REQUIRE(sts->Apply(3, {}).ok());
  CHECK(rig.standin.Object("apps", "statefulsets", "db", "postgres-replica").first == 3);
  auto crd = rig.Actuator("example.com/v1", "widgets", "amas", "w1");
  CHECK(crd->Describe() == "widgets.example.com amas/w1");
  REQUIRE(crd->Apply(4, {}).ok());
  CHECK(rig.standin.Object("example.com", "widgets", "amas", "w1").first == 4);
}

TEST_CASE("a 409 conflict is re-read and retried", "[integration]") {
  Rig rig;
  auto a = rig.Backend();
  REQUIRE(*a->Current() == 3);
  rig.Fault(R"({"match": "PATCH", "action": "conflict", "count": 2})");
  REQUIRE(a->Apply(6, {}).ok());
  CHECK(rig.BackendObject() == std::pair{6, 1});

  rig.Fault(R"({"match": "PATCH", "action": "conflict", "count": 100})");
  Status s = a->Apply(7, {});
  CHECK(s.code() == Status::Code::kAborted);
  CHECK(s.message() ==
        "deployment default/backend: still conflicting after 5 re-reads: another writer keeps "
        "changing the object");
  CHECK(rig.BackendObject().first == 6);
}

TEST_CASE("a 409 whose re-read shows the count already there ends the action", "[integration]") {
  Rig rig;
  auto a = rig.Backend();
  REQUIRE(*a->Current() == 3);
  // Someone else sets the same count between our read and our write.
  REQUIRE(
      rig.standin.Post(
          "/_standin/objects",
          R"({"resource":"deployments","namespace":"default","name":"backend","replicas":8})") ==
      200);
  REQUIRE(a->Apply(8, {}).ok());
  CHECK(rig.BackendObject() == std::pair{8, 0});
}

TEST_CASE("401, 403 and 404 are clear errors naming the resource", "[integration]") {
  SECTION("wrong token") {
    Rig rig({}, Rig::Fast(), "wrong");
    Status s = rig.Backend()->Current().status();
    CHECK(s.code() == Status::Code::kUnauthenticated);
    CHECK(s.message() ==
          "deployment default/backend: GET scale: HTTP 401 Unauthorized (Unauthorized): the API "
          "server refused our credentials; check the service-account token or the kubeconfig "
          "user");
  }
  SECTION("no token") {
    Rig rig({}, Rig::Fast(), "");
    CHECK(rig.Backend()->Current().status().code() == Status::Code::kUnauthenticated);
  }
  SECTION("forbidden namespace") {
    Rig rig;
    Status s = rig.Actuator("apps/v1", "deployments", "kube-system", "coredns")->Current().status();
    CHECK(s.code() == Status::Code::kPermissionDenied);
    CHECK(s.message().rfind("deployment kube-system/coredns: GET scale: HTTP 403 Forbidden", 0) ==
          0);
    CHECK(s.message().find("grant get and patch on deployments/scale in namespace kube-system "
                           "(see deploy/rbac.yaml)") != std::string::npos);
  }
  SECTION("unknown object") {
    Rig rig;
    Status s = rig.Actuator("apps/v1", "deployments", "default", "nope")->Current().status();
    CHECK(s.IsNotFound());
    CHECK(s.message() ==
          "deployment default/nope: GET scale: HTTP 404 Not Found (deployments.apps \"nope\" not "
          "found): check kind, namespace and name, and that the resource has a scale "
          "subresource");
  }
  SECTION("none of these is retried by the executor") {
    Rig rig({}, Rig::Fast(), "wrong");
    auto e = rig.Exec(rig.Backend());
    ActionRecord r = e->Act(Want(5));
    CHECK(r.result == ActionResult::kFailed);
    CHECK(r.attempts == 0);
    auto stats = std::string();
    rig.standin.Get("/_standin/stats", &stats);
    CHECK(StandIn::Field(stats, "requests") == 1);
  }
}

TEST_CASE("5xx answers are retried with backoff and applied once", "[integration]") {
  Rig rig;
  auto e = rig.Exec(rig.Backend());
  rig.Fault(R"({"match": "PATCH", "action": "status", "status": 503, "count": 2})");
  ActionRecord r = e->Act(Want(9));
  CHECK(r.result == ActionResult::kApplied);
  CHECK(r.attempts == 3);
  CHECK(rig.BackendObject() == std::pair{9, 1});
  CHECK(e->State().phase == TargetState::Phase::kSteady);
}

TEST_CASE("a write whose reply is lost to a timeout is not applied twice", "[integration]") {
  Rig rig;
  auto e = rig.Exec(rig.Backend());
  // The server applies the patch, then answers only after the client gave up.
  rig.Fault(R"({"match": "PATCH", "action": "lost_reply", "delay_ms": 800})");
  ActionRecord r = e->Act(Want(10));
  CHECK(r.result == ActionResult::kApplied);
  CHECK(r.attempts == 1);
  CHECK(rig.BackendObject() == std::pair{10, 1});
}

TEST_CASE("a slow server that applies late still sees one write", "[integration]") {
  Rig rig;
  auto e = rig.Exec(rig.Backend());
  // The first PATCH is held for 900 ms before the server acts on it; the
  // client times out at 400 ms and writes again with a fresh resourceVersion.
  // The late one then carries a stale resourceVersion and gets 409.
  rig.Fault(R"({"match": "PATCH", "action": "delay", "delay_ms": 900})");
  ActionRecord r = e->Act(Want(11));
  CHECK(r.result == ActionResult::kApplied);
  CHECK(r.attempts == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK(rig.BackendObject() == std::pair{11, 1});
}

TEST_CASE("a dropped connection is transient", "[integration]") {
  Rig rig;
  auto e = rig.Exec(rig.Backend());
  rig.Fault(R"({"match": "GET", "action": "reset", "count": 1})");
  ActionRecord r = e->Act(Want(4));
  CHECK(r.result == ActionResult::kApplied);
  CHECK(rig.BackendObject() == std::pair{4, 1});
}

TEST_CASE("API server down: known state, reported, and recovered", "[integration]") {
  Rig rig;
  auto e = rig.Exec(rig.Backend());
  REQUIRE(e->Act(Want(5)).result == ActionResult::kApplied);
  rig.standin.Stop();
  ActionRecord r = e->Act(Want(7));
  CHECK(r.result == ActionResult::kFailed);
  CHECK(r.attempts == 0);  // never wrote: the count could not be read
  CHECK(r.error.find("Unavailable") != std::string::npos);
  CHECK(r.error.find("deployment default/backend") != std::string::npos);
  TargetState s = e->State();
  CHECK(s.phase == TargetState::Phase::kFailed);
  CHECK(s.observed == 5);  // the last count we know, with its time
  CHECK(s.last_applied == 5);
  CHECK_FALSE(s.last_error.empty());

  REQUIRE(rig.standin.Start());  // a fresh store: backend is 3 again
  Observation o = e->Observe({});
  REQUIRE(o.status.ok());
  CHECK(o.current == 3);
  CHECK(o.drift_expected == 5);  // reported: someone else changed it meanwhile
  CHECK(e->State().phase == TargetState::Phase::kSteady);
}

TEST_CASE("a rotated service-account token is re-read after a 401", "[integration]") {
  amas::testing::TempDir dir;
  std::ofstream(dir.path() + "/token") << kToken << "\n";
  SystemClock clock;
  ThreadSleeper sleeper;
  StandIn standin(Rig::Args({}));
  REQUIRE(standin.running());
  KubeConfig cfg;
  cfg.server = standin.url();
  cfg.token = "expired";
  cfg.token_file = dir.path() + "/token";
  auto client = KubeClient::Create(cfg, Rig::Fast(), &clock, &sleeper);
  REQUIRE(client.ok());
  KubernetesActuator a(*client, *MakeScaleRef("apps/v1", "deployments", "default", "backend"));
  CHECK(*a.Current() == 3);
}

TEST_CASE("the client never exceeds its QPS and burst", "[integration]") {
  KubeClientOptions opts = Rig::Fast();
  opts.qps = 20;
  opts.burst = 5;
  Rig rig({}, opts);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&rig] {
      auto mine = rig.Backend();
      for (int i = 0; i < 10; ++i) REQUIRE(mine->Current().ok());
    });
  }
  for (auto& th : threads) th.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 40 requests, 5 at once, then 20 per second: at least 1.75 s.
  CHECK(took >= 1.7);
  std::string stats;
  rig.standin.Get("/_standin/stats?window=1", &stats);
  INFO(stats);
  CHECK(StandIn::Field(stats, "requests") == 40);
  CHECK(StandIn::Field(stats, "max_in_window") <= 5 + 20);
}

// --- TLS: in-cluster config and kubeconfig client certificates -------------

bool Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  RunOptions run;
  run.argv = std::move(args);
  run.timeout = Duration::Seconds(30);
  auto r = RunProcess(run);
  if (!r.ok() || r->exit_code != 0) {
    WARN("openssl failed: " << (r.ok() ? r->err : r.status().ToString()));
    return false;
  }
  return true;
}

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, in dir.
bool MakeCerts(const std::string& d) {
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  auto req = [&](std::vector<std::string> tail) {
    std::vector<std::string> a = {"req"};
    a.insert(a.end(), ec.begin(), ec.end());
    a.insert(a.end(), tail.begin(), tail.end());
    return Openssl(a);
  };
  std::ofstream(d + "/san.cnf") << "subjectAltName=IP:127.0.0.1\n";
  std::ofstream(d + "/client.cnf") << "extendedKeyUsage=clientAuth\n";
  return req({"-x509", "-days", "1", "-subj", "/CN=amas-test-ca", "-keyout", d + "/ca.key", "-out",
              d + "/ca.crt"}) &&
         req({"-subj", "/CN=127.0.0.1", "-keyout", d + "/server.key", "-out", d + "/server.csr"}) &&
         Openssl({"x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey",
                  d + "/ca.key", "-CAcreateserial", "-days", "1", "-extfile", d + "/san.cnf",
                  "-out", d + "/server.crt"}) &&
         req({"-subj", "/CN=amas-scaler", "-keyout", d + "/client.key", "-out",
              d + "/client.csr"}) &&
         Openssl({"x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.crt", "-CAkey",
                  d + "/ca.key", "-CAcreateserial", "-days", "1", "-extfile", d + "/client.cnf",
                  "-out", d + "/client.crt"});
}

TEST_CASE("in-cluster config over TLS with the service-account CA and token", "[integration]") {
  amas::testing::TempDir dir;
  REQUIRE(MakeCerts(dir.path()));
  StandIn standin(Rig::Args(
      {"--tls-cert", dir.path() + "/server.crt", "--tls-key", dir.path() + "/server.key"}));
  REQUIRE(standin.running());
  const std::string sa = dir.path() + "/serviceaccount";
  std::filesystem::create_directory(sa);
  std::filesystem::copy_file(dir.path() + "/ca.crt", sa + "/ca.crt");
  std::ofstream(sa + "/token") << kToken;
  std::ofstream(sa + "/namespace") << "default";
  auto cfg = InClusterConfig("127.0.0.1", std::to_string(standin.port()), sa);
  REQUIRE(cfg.ok());
  SystemClock clock;
  ThreadSleeper sleeper;
  auto client = KubeClient::Create(*cfg, Rig::Fast(), &clock, &sleeper);
  REQUIRE(client.ok());
  KubernetesActuator a(*client, *MakeScaleRef("apps/v1", "deployments", "default", "backend"));
  CHECK(*a.Current() == 3);
  CHECK(a.Apply(4, {}).ok());

  SECTION("a CA that did not sign the server is refused, not retried") {
    amas::testing::TempDir other;
    REQUIRE(MakeCerts(other.path()));
    KubeConfig wrong = *cfg;
    wrong.ca_file = other.path() + "/ca.crt";
    auto c2 = KubeClient::Create(wrong, Rig::Fast(), &clock, &sleeper);
    KubernetesActuator b(*c2, *MakeScaleRef("apps/v1", "deployments", "default", "backend"));
    Status s = b.Current().status();
    CHECK(s.code() == Status::Code::kFailedPrecondition);
    CHECK_FALSE(IsTransient(s));
  }
}

TEST_CASE("kubeconfig with embedded CA and client certificate, no token", "[integration]") {
  amas::testing::TempDir dir;
  REQUIRE(MakeCerts(dir.path()));
  StandIn standin(Rig::Args({"--tls-cert", dir.path() + "/server.crt", "--tls-key",
                             dir.path() + "/server.key", "--client-ca", dir.path() + "/ca.crt"}));
  REQUIRE(standin.running());
  auto read = [&](const char* f) { return amas::testing::ReadFile(dir.path() + "/" + f); };
  std::ofstream(dir.path() + "/kubeconfig")
      << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
      << "clusters:\n- name: standin\n  cluster:\n    server: https://127.0.0.1:" << standin.port()
      << "\n    certificate-authority-data: " << Base64(read("ca.crt"))
      << "\ncontexts:\n- name: test\n  context: {cluster: standin, user: amas}\n"
      << "users:\n- name: amas\n  user:\n    client-certificate-data: "
      << Base64(read("client.crt")) << "\n    client-key-data: " << Base64(read("client.key"))
      << "\n";
  auto cfg = LoadKubeconfig(dir.path() + "/kubeconfig");
  REQUIRE(cfg.ok());
  CHECK(cfg->token.empty());
  SystemClock clock;
  ThreadSleeper sleeper;
  auto client = KubeClient::Create(*cfg, Rig::Fast(), &clock, &sleeper);
  REQUIRE(client.ok());
  KubernetesActuator a(*client, *MakeScaleRef("apps/v1", "deployments", "default", "backend"));
  CHECK(*a.Current() == 3);
  REQUIRE(a.Apply(6, {}).ok());
  CHECK(*a.Current() == 6);

  // Without the certificate the same server says 401.
  KubeConfig bare = *cfg;
  bare.client_cert_pem.clear();
  bare.client_key_pem.clear();
  auto anon = KubeClient::Create(bare, Rig::Fast(), &clock, &sleeper);
  KubernetesActuator b(*anon, *MakeScaleRef("apps/v1", "deployments", "default", "backend"));
  CHECK(b.Current().status().code() == Status::Code::kUnauthenticated);
}

}  // namespace
}  // namespace amas::act
