// k8s_standin.h: starts test/k8s_standin/standin.py (a stand-in for the
// Kubernetes API server, NOT Kubernetes) on a free loopback port, talks to its
// /_standin/ controls, and stops it by PID on destruction.
#ifndef AMAS_TEST_ACT_K8S_STANDIN_H_
#define AMAS_TEST_ACT_K8S_STANDIN_H_

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace amas::act::testing {

class StandIn {
 public:
  // args after --port, e.g. {"--token", "t", "--object", "apps/v1/deployments/default/a=3"}.
  explicit StandIn(std::vector<std::string> args) : args_(std::move(args)) {
    for (int tries = 0; tries < 5 && pid_ < 0; ++tries) {
      port_ = amas::testing::FreeLoopbackPort();
      Start();
    }
  }
  ~StandIn() { Stop(); }
  StandIn(const StandIn&) = delete;
  StandIn& operator=(const StandIn&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  void set_scheme(std::string s) { scheme_ = std::move(s); }

  // Same port and arguments; the store starts afresh. True once it listens.
  bool Start() {
    int out[2];
    if (pipe(out) != 0) return false;
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<std::string> all = {AMAS_PYTHON3, AMAS_STANDIN_SCRIPT, "--port",
                                      std::to_string(port_)};
      all.insert(all.end(), args_.begin(), args_.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
      close(out[0]);
      return false;
    }
    // Wait for "listening on PORT" (at most 10 s).
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto ready = [&] {
      const size_t at = seen.find("listening on");
      return at != std::string::npos && seen.find('\n', at) != std::string::npos;
    };
    while (!ready() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[256];
        const ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, n);
      }
    }
    close(out[0]);
    if (!ready()) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return false;
    }
    pid_ = pid;
    return true;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Control plane (plain HTTP even when the API side is TLS: see Control()).
  long Post(const std::string& path, const std::string& json, std::string* body = nullptr) {
    return Control("POST", path, json, body);
  }
  long Get(const std::string& path, std::string* body = nullptr) {
    return Control("GET", path, "", body);
  }
  long Delete(const std::string& path) { return Control("DELETE", path, "", nullptr); }

  // replicas and writes of one object, from /_standin/objects.
  std::pair<int, int> Object(const std::string& group, const std::string& resource,
                             const std::string& ns, const std::string& name) {
    std::string body;
    Get("/_standin/objects/" + group + "/" + resource + "/" + ns + "/" + name, &body);
    return {Field(body, "replicas"), Field(body, "writes")};
  }
  static int Field(const std::string& json, const std::string& key) {
    const size_t at = json.find("\"" + key + "\":");
    if (at == std::string::npos) return -1;
    size_t p = at + key.size() + 3;
    while (p < json.size() && (json[p] == ' ' || json[p] == '"')) ++p;
    return std::atoi(json.c_str() + p);
  }

 private:
  static size_t Append(char* d, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(d, s * n);
    return s * n;
  }
  long Control(const char* method, const std::string& path, const std::string& json,
               std::string* body) {
    std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
    std::string sink;
    const std::string u = url() + path;
    curl_easy_setopt(h.get(), CURLOPT_URL, u.c_str());
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, body != nullptr ? body : &sink);
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, 0L);  // controls only
    curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, 0L);
    if (!ca_.empty()) curl_easy_setopt(h.get(), CURLOPT_CAINFO, ca_.c_str());
    if (!cert_.empty()) {
      curl_easy_setopt(h.get(), CURLOPT_SSLCERT, cert_.c_str());
      curl_easy_setopt(h.get(), CURLOPT_SSLKEY, key_.c_str());
    }
    if (json.size() > 0) curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, json.c_str());
    if (curl_easy_perform(h.get()) != CURLE_OK) return -1;
    long code = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

 public:
  // A client certificate for the control calls when the stand-in wants one.
  void set_control_cert(std::string ca, std::string cert, std::string key) {
    ca_ = std::move(ca);
    cert_ = std::move(cert);
    key_ = std::move(key);
  }

 private:
  std::vector<std::string> args_;
  std::string scheme_ = "http";
  std::string ca_, cert_, key_;
  int port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace amas::act::testing

#endif  // AMAS_TEST_ACT_K8S_STANDIN_H_
