// Against real servers on free loopback ports, each stopped by PID when the
// test ends (also on failure): Debian's /usr/bin/prometheus for the query API
// client (up, vector(1), a bad query, a scalar, a string, a matrix) and for the
// scraper (its /metrics, and /federate with match[]); `openssl s_server` for
// scraping over TLS.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "scrape_test_util.h"
#include "sources/curl_util.h"
#include "sources/prometheus_api.h"
#include "testing/testing.h"

namespace amas::sources {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";

class PrometheusProcess {
 public:
  explicit PrometheusProcess(const std::string& dir) {
    port_ = testing::FreeLoopbackPort();
    const std::string config = dir + "/prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          << "scrape_configs:\n  - job_name: prometheus\n"
                          << "    static_configs:\n      - targets: ['127.0.0.1:" << port_
                          << "']\n";
    const std::string log = dir + "/prometheus.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "w", stdout);
      (void)out;
      dup2(fileno(stdout), 2);
      const std::string a1 = "--config.file=" + config;
      const std::string a2 = "--storage.tsdb.path=" + dir + "/data";
      const std::string a3 = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      execl(kPrometheus, kPrometheus, a1.c_str(), a2.c_str(), a3.c_str(), nullptr);
      _exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool WaitReady(std::chrono::seconds limit) const {
    EnsureCurlGlobalInit();
    CurlEasy h(curl_easy_init());
    const std::string url = "http://" + address() + "/-/ready";
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return false;  // it died
      curl_easy_reset(h.get());
      curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
      curl_easy_setopt(h.get(), CURLOPT_NOBODY, 1L);
      curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, 500L);
      long status = 0;
      if (curl_easy_perform(h.get()) == CURLE_OK) {
        curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

core::Time WallNow() {
  return core::Time::FromUnixMillis(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

struct SystemClock : core::Clock {
  core::Time Now() const override { return WallNow(); }
};

// A child process, killed (TERM, then KILL) and reaped when this goes away.
class Child {
 public:
  Child(const std::string& dir, std::vector<std::string> argv) {
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(dir.c_str()) != 0) _exit(126);
      FILE* out = std::freopen("child.log", "w", stdout);
      (void)out;
      dup2(fileno(stdout), 2);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

 private:
  pid_t pid_ = -1;
};

bool Run(const std::string& dir, const std::string& command) {
  return std::system(("cd '" + dir + "' && " + command + " >/dev/null 2>&1").c_str()) == 0;
}

bool WaitForPort(int port, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_CASE("scraping over TLS: tls_ca_file, unknown CA, insecure_skip_verify", "[integration]") {
  if (access("/usr/bin/openssl", X_OK) != 0) {
    WARN("no /usr/bin/openssl; skipped");
    return;
  }
  testing::TempDir dir;
  REQUIRE(Run(dir.path(),
              "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 "
              "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"));
  std::ofstream(dir.path() + "/metrics") << "tls_ok 1\n";
  const int port = testing::FreeLoopbackPort();
  // s_server -WWW serves files of its working directory, one connection at a time.
  Child server(dir.path(), {"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port),
                            "-cert", "cert.pem", "-key", "key.pem", "-WWW", "-quiet"});
  REQUIRE(WaitForPort(port, std::chrono::seconds(10)));

  const std::string address = "127.0.0.1:" + std::to_string(port);
  ScrapeConfig trusted = testing::Job("trusted", address);
  trusted.scheme = "https";
  trusted.tls_ca_file = dir.path() + "/cert.pem";
  ScrapeConfig unknown = testing::Job("unknown", address);
  unknown.scheme = "https";
  ScrapeConfig insecure = testing::Job("insecure", address);
  insecure.scheme = "https";
  insecure.tls_insecure_skip_verify = true;
  store::Store store;
  SystemClock clock;
  auto m = ScrapeManager::Create({trusted, unknown, insecure}, &store, &clock);
  REQUIRE(m.ok());
  (*m)->ScrapeOnce();
  const TargetHealth t = testing::HealthOf(**m, "trusted");
  INFO(t.last_error);
  CHECK(t.health == "up");
  CHECK(t.scrape_url == "https://" + address + "/metrics");
  CHECK(testing::HealthOf(**m, "insecure").health == "up");
  const TargetHealth u = testing::HealthOf(**m, "unknown");
  CHECK(u.health == "down");
  CHECK_THAT(u.last_error, Catch::Contains("certificate"));
  CHECK(testing::SamplesOf(store,
                           core::Labels::FromPairs(
                               {{"__name__", "tls_ok"}, {"job", "trusted"}, {"instance", address}}))
            .size() == 1);
}

TEST_CASE("query API and scraper against a real Prometheus", "[integration]") {
  if (access(kPrometheus, X_OK) != 0) {
    WARN("no " << kPrometheus << "; skipped");
    return;
  }
  testing::TempDir dir;
  PrometheusProcess prom(dir.path());
  REQUIRE(prom.WaitReady(std::chrono::seconds(30)));

  PrometheusApiOptions o;
  o.url = "http://" + prom.address();
  o.timeout = core::Duration::Seconds(10);
  auto api_or = PrometheusApi::Create(o);
  REQUIRE(api_or.ok());
  PrometheusApi& api = **api_or;

  // up: once Prometheus has scraped itself.
  core::Result<QueryResult> up = core::Status::NotFound("not yet");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    up = api.Query("up", WallNow());
    if (up.ok() && !up->series.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  REQUIRE(up.ok());
  REQUIRE(up->type == QueryResult::Type::kVector);
  REQUIRE(up->series.size() == 1);
  CHECK(up->series[0].metric.Get("job") == "prometheus");
  CHECK(up->series[0].metric.Get("instance") == prom.address());
  CHECK(up->series[0].points[0].value == 1);

  const core::Time at = core::Time::FromUnixMillis(1700000000123);
  core::Result<QueryResult> one = api.Query("vector(1)", at);
  REQUIRE(one.ok());
  REQUIRE(one->series.size() == 1);
  CHECK(one->series[0].metric.empty());
  CHECK(one->series[0].points[0].value == 1);
  CHECK(one->series[0].points[0].t_ms == 1700000000123);

  core::Result<QueryResult> bad = api.Query("sum(", at);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().IsInvalidArgument());
  CHECK_THAT(bad.status().message(), Catch::Contains("parse error"));
  CHECK(api.attempts() >= 3);

  core::Result<QueryResult> scalar = api.Query("scalar(vector(2)) * 3", at);
  REQUIRE(scalar.ok());
  CHECK(scalar->type == QueryResult::Type::kScalar);
  CHECK(scalar->scalar.value == 6);
  CHECK(scalar->scalar.t_ms == 1700000000123);

  core::Result<QueryResult> str = api.Query("\"hello\"", at);
  REQUIRE(str.ok());
  CHECK(str->type == QueryResult::Type::kString);
  CHECK(str->string_value == "hello");

  core::Result<QueryResult> matrix = api.Query("up[1m]", WallNow());
  REQUIRE(matrix.ok());
  CHECK(matrix->type == QueryResult::Type::kMatrix);
  REQUIRE(matrix->series.size() == 1);
  CHECK_FALSE(matrix->series[0].points.empty());

  o.use_post = true;
  auto post = PrometheusApi::Create(o);
  REQUIRE(post.ok());
  core::Result<QueryResult> range = (*post)->QueryRange(
      "vector(1)", at, at + core::Duration::Minutes(1), core::Duration::Seconds(15));
  REQUIRE(range.ok());
  CHECK(range->type == QueryResult::Type::kMatrix);
  REQUIRE(range->series.size() == 1);
  CHECK(range->series[0].points.size() == 5);

  // The scraper on the same Prometheus: its own /metrics and /federate.
  ScrapeConfig self = testing::Job("prom-self", prom.address());
  ScrapeConfig fed = testing::Job("prom-federate", prom.address(), "/federate");
  fed.honor_labels = true;
  fed.params["match[]"] = {"{job=\"prometheus\"}"};
  store::Store store;
  SystemClock clock;
  auto m_or = ScrapeManager::Create({self, fed}, &store, &clock);
  REQUIRE(m_or.ok());
  ScrapeManager& m = **m_or;
  m.ScrapeOnce();
  for (const TargetHealth& h : m.Targets()) {
    INFO(h.scrape_pool << ": " << h.last_error);
    CHECK(h.health == "up");
    CHECK(h.last_samples > 100);
  }
  // Federated: Prometheus's own labels and timestamps.
  std::vector<core::Labels> fed_up = testing::SeriesNamed(store, "up");
  bool saw_federated_up = false;
  for (const core::Labels& l : fed_up) {
    if (l.Get("job") == "prometheus" && l.Get("instance") == prom.address()) {
      saw_federated_up = true;
      std::vector<store::Sample> s = testing::SamplesOf(store, l);
      REQUIRE(s.size() == 1);
      CHECK(s[0].value == 1);
      CHECK(s[0].t_ms < WallNow().unix_millis());
    }
  }
  CHECK(saw_federated_up);
}

}  // namespace
}  // namespace amas::sources
