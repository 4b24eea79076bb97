// api.h: Prometheus's HTTP API and lifecycle endpoints over amas-scaler's
// modules: /metrics, /-/healthy, /-/ready, /-/reload, /api/v1/targets,
// /series, /labels, /label/{name}/values, /query, /query_range,
// /status/config, each in Prometheus's JSON shape. The routes only read
// through the functions and pointers in ApiOptions, which must outlive the
// Router; each may be called from several server threads at once.
#ifndef AMAS_HTTP_API_H_
#define AMAS_HTTP_API_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "http/http.h"
#include "promql/promql.h"
#include "sources/sources.h"
#include "store/store.h"

namespace amas::http {

struct ApiOptions {
  const store::Store* store = nullptr;
  const core::Clock* clock = nullptr;  // "now" for queries without time=
  promql::EngineOptions engine;
  std::function<std::vector<sources::TargetHealth>()> targets;
  std::function<std::string()> config_yaml;  // the loaded YAML, secrets redacted
  std::function<bool()> ready;               // config loaded and first scrape round done
  std::function<core::Status()> reload;      // re-reads the config; keeps the old one on error
  std::function<std::string()> metrics;      // self-metrics in text format 0.0.4
  // For globalUrl: the URL users reach this server on, and where it listens.
  std::string external_url = "http://localhost:9105/";
  std::string listen_address = ":9105";
};

void AddApiRoutes(const ApiOptions& options, Router* router);

// Prometheus's globalUrl: a scrape URL on localhost is rewritten to the
// external URL's host (and, when it is this server's own port, to the
// external scheme, host and port) so the link works from elsewhere.
std::string GlobalUrl(std::string_view scrape_url, std::string_view external_url,
                      std::string_view listen_address);

}  // namespace amas::http

#endif  // AMAS_HTTP_API_H_
