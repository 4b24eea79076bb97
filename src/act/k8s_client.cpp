// KubeClient: libcurl easy handles in a pool (one per concurrent request, kept
// for connection reuse), behind the client-side rate limiter.
#include <curl/curl.h>

#include <mutex>
#include <vector>

#include "act/kubernetes.h"
#include "act/kubernetes_internal.h"

namespace amas::act {

using core::Result;
using core::Status;

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

constexpr size_t kMaxBody = 4 << 20;  // a Scale is < 1 KiB; anything huge is not ours

// A curl_slist that frees itself.
class Headers {
 public:
  void Add(const std::string& line) {
    curl_slist* head = curl_slist_append(list_.get(), line.c_str());
    if (head != nullptr && head != list_.get()) {
      (void)list_.release();
      list_.reset(head);
    }
  }
  curl_slist* get() const { return list_.get(); }

 private:
  SlistPtr list_;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t len = size * n;
  if (out->size() + len > kMaxBody) return 0;  // aborts the transfer: CURLE_WRITE_ERROR
  out->append(data, len);
  return len;
}

Status TransportError(CURLcode code, const char* detail, std::string_view method,
                      const std::string& url) {
  std::string msg = std::string(method) + " " + url + ": " +
                    (detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::FailedPrecondition(msg + " (check the server URL, CA and client certificate)");
    case CURLE_OPERATION_TIMEDOUT:
      return Status::Unavailable(msg + " (timeout)");
    default:
      return Status::Unavailable(msg);
  }
}

void SetBlob(CURL* h, CURLoption opt, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(h, opt, &blob);
}

}  // namespace

struct KubeClient::Pool {
  std::mutex mu;
  std::vector<CurlPtr> idle;
};

Result<std::shared_ptr<KubeClient>> KubeClient::Create(KubeConfig config, KubeClientOptions options,
                                                       const core::Clock* clock, Sleeper* sleeper) {
  if (config.server.empty()) return Status::InvalidArgument("kubernetes: no API server URL");
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return Status::InvalidArgument("kubernetes: API server URL must start with https:// (got \"" +
                                   config.server + "\")");
  }
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (clock == nullptr || sleeper == nullptr) {
    return Status::FailedPrecondition("kubernetes client needs a clock and a sleeper");
  }
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::shared_ptr<KubeClient>(new KubeClient(std::move(config), options, clock, sleeper));
}

KubeClient::KubeClient(KubeConfig config, KubeClientOptions options, const core::Clock* clock,
                       Sleeper* sleeper)
    : config_(std::move(config)),
      options_(options),
      limiter_(options.qps, options.burst, clock, sleeper),
      pool_(std::make_unique<Pool>()) {}

KubeClient::~KubeClient() = default;

std::string KubeClient::Token() {
  std::lock_guard lock(token_mu_);
  return config_.token;
}

bool KubeClient::RefreshToken() {
  if (config_.token_file.empty()) return false;
  Result<std::string> t = k8s_internal::ReadSmallFile(config_.token_file);
  if (!t.ok()) return false;
  std::string fresh = k8s_internal::Trim(*t);
  std::lock_guard lock(token_mu_);
  if (fresh.empty() || fresh == config_.token) return false;
  config_.token = std::move(fresh);
  return true;
}

Result<KubeResponse> KubeClient::Do(std::string_view method, const std::string& path,
                                    const std::string& body, std::string_view content_type) {
  limiter_.Accept();
  Result<KubeResponse> r = Send(method, path, body, content_type);
  // Bound service-account tokens are rotated on disk; one re-read, one retry.
  if (r.ok() && r->status == 401 && RefreshToken()) {
    limiter_.Accept();
    r = Send(method, path, body, content_type);
  }
  return r;
}

Result<KubeResponse> KubeClient::Send(std::string_view method, const std::string& path,
                                      const std::string& body, std::string_view content_type) {
  CurlPtr h;
  {
    std::lock_guard lock(pool_->mu);
    if (!pool_->idle.empty()) {
      h = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  if (!h) {
    h.reset(curl_easy_init());
    if (!h) return Status::Internal("kubernetes: curl_easy_init failed");
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.millis()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.millis()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "amas-scaler");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!config_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_file.c_str());
    if (!config_.ca_pem.empty()) SetBlob(c, CURLOPT_CAINFO_BLOB, config_.ca_pem);
    if (!config_.client_cert_file.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, config_.client_cert_file.c_str());
    }
    if (!config_.client_cert_pem.empty()) SetBlob(c, CURLOPT_SSLCERT_BLOB, config_.client_cert_pem);
    if (!config_.client_key_file.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLKEY, config_.client_key_file.c_str());
    }
    if (!config_.client_key_pem.empty()) SetBlob(c, CURLOPT_SSLKEY_BLOB, config_.client_key_pem);
    if (config_.insecure_skip_tls_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  CURL* c = h.get();
  const std::string url = config_.server + path;
  KubeResponse resp;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);

  Headers headers;
  headers.Add("Accept: application/json");
  if (const std::string token = Token(); !token.empty()) {
    headers.Add("Authorization: Bearer " + token);
  }
  const std::string verb(method);
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
  } else {
    headers.Add("Content-Type: " + std::string(content_type));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  // Nothing set above may outlive this call: the handle goes back to the pool.
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, nullptr);
  Status failed = code == CURLE_OK ? Status() : TransportError(code, error, method, url);
  {
    std::lock_guard lock(pool_->mu);
    pool_->idle.push_back(std::move(h));
  }
  if (!failed.ok()) return failed;
  return resp;
}

}  // namespace amas::act
