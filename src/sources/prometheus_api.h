// prometheus_api.h: a client for a Prometheus-compatible HTTP query API
// (Prometheus, Thanos, Mimir, VictoriaMetrics): /api/v1/query and /query_range.
// Transient failures (connection errors, HTTP 5xx, 429) are retried with
// exponential backoff; 4xx and timeouts are not. Errors map Prometheus's
// errorType: bad_data → InvalidArgument carrying Prometheus's own text,
// timeout (or our own deadline) → DeadlineExceeded, unavailable/5xx →
// Unavailable, not_found → NotFound, execution → FailedPrecondition.
// An empty result is a successful, empty vector, not an error.
// Thread rule: calls are serialized internally; safe from any thread.
#ifndef AMAS_SOURCES_PROMETHEUS_API_H_
#define AMAS_SOURCES_PROMETHEUS_API_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::sources {

struct PrometheusApiOptions {
  std::string url;  // base URL, e.g. "http://prometheus:9090" or "https://host/prefix"
  core::Duration timeout = core::Duration::Seconds(30);  // per attempt, also sent as &timeout=
  int max_attempts = 3;                                  // 1: no retries
  core::Duration initial_backoff = core::Duration::Millis(200);  // doubles per retry
  core::Duration max_backoff = core::Duration::Seconds(5);       // also caps Retry-After
  bool use_post = false;  // POST a form instead of GET (long queries)
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password_file;
  std::string tls_ca_file;
  bool tls_insecure_skip_verify = false;
  // Waits between attempts; empty: sleeps the calling thread. Tests record instead.
  std::function<void(core::Duration)> sleep;
};

struct ApiPoint {
  int64_t t_ms = 0;
  double value = 0;
};

struct ApiSeries {
  core::Labels metric;
  std::vector<ApiPoint> points;  // vector: exactly one; matrix: oldest first
};

struct QueryResult {
  enum class Type { kVector, kScalar, kString, kMatrix };
  Type type = Type::kVector;
  std::vector<ApiSeries> series;  // kVector, kMatrix
  ApiPoint scalar;                // kScalar
  int64_t string_t_ms = 0;        // kString
  std::string string_value;       // kString
  std::vector<std::string> warnings;
};

// Parses a /api/v1/query[_range] response body (any HTTP status), mapping an
// error response as described above. Pure; exposed for tests.
core::Result<QueryResult> ParseQueryResponse(std::string_view body, long http_status);

class PrometheusApi {
 public:
  // Fails on an empty or non-http(s) URL or bad retry settings; does not connect.
  static core::Result<std::unique_ptr<PrometheusApi>> Create(PrometheusApiOptions options);
  PrometheusApi(const PrometheusApi&) = delete;  // owns a connection; share the unique_ptr
  PrometheusApi& operator=(const PrometheusApi&) = delete;
  ~PrometheusApi();

  // Instant query evaluated at `at`.
  core::Result<QueryResult> Query(std::string_view expr, core::Time at);
  // Range query over [start, end] every step.
  core::Result<QueryResult> QueryRange(std::string_view expr, core::Time start, core::Time end,
                                       core::Duration step);
  // How many HTTP attempts were made in total (for tests and self-metrics).
  uint64_t attempts() const;

 private:
  PrometheusApi() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::sources

#endif  // AMAS_SOURCES_PROMETHEUS_API_H_
