#include "http/api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "http/json.h"
#include "promql/ast.h"

namespace amas::http {
namespace {

using core::Result;
using core::Status;

constexpr int64_t kMinTimeMs = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTimeMs = std::numeric_limits<int64_t>::max() / 2;
constexpr int64_t kMaxPointsPerSeries = 11000;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Response InvalidParam(std::string_view param, std::string_view message) {
  return ApiError(ApiErrorType::kBadData,
                  "invalid parameter " + Quote(param) + ": " + std::string(message));
}

// A time parameter as Prometheus reads it: RFC 3339 or Unix seconds.
Result<int64_t> ParseTimeParam(std::string_view text) {
  Result<core::Time> t = core::Time::Parse(text);
  if (!t.ok()) {
    return Status::InvalidArgument("cannot parse " + Quote(text) + " to a valid timestamp");
  }
  return t->unix_millis();
}

// A duration parameter: seconds as a float ("15", "0.5") or "1m30s".
Result<int64_t> ParseDurationParam(std::string_view text) {
  double secs = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) {
    if (!std::isfinite(secs) || std::abs(secs) * 1000 > 9.2e18) {
      return Status::InvalidArgument("cannot parse " + Quote(text) +
                                     " to a valid duration. It overflows int64");
    }
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  Result<core::Duration> d = core::Duration::Parse(text);
  if (!d.ok())
    return Status::InvalidArgument("cannot parse " + Quote(text) + " to a valid duration");
  return d->millis();
}

// Prometheus's parser.ParseMetricSelector: a bare vector selector.
Result<std::vector<store::Matcher>> ParseSelector(std::string_view text) {
  Result<promql::ExprPtr> expr = promql::Parse(text);
  if (!expr.ok()) return expr.status();
  const promql::VectorSelector* sel = (*expr)->as<promql::VectorSelector>();
  if (sel == nullptr) {
    return Status::InvalidArgument("expected a series selector such as up{job=\"x\"}, got " +
                                   Quote(text));
  }
  return sel->matchers;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

struct TimeRange {
  int64_t start_ms = kMinTimeMs;
  int64_t end_ms = kMaxTimeMs;
  bool bounded = false;
};

// Reads optional start=/end= of the metadata endpoints.
Result<TimeRange> ParseRange(const Request& req, Response* error) {
  TimeRange range;
  for (const char* name : {"start", "end"}) {
    if (!req.HasParam(name) || req.Param(name).empty()) continue;
    Result<int64_t> t = ParseTimeParam(req.Param(name));
    if (!t.ok()) {
      *error = InvalidParam(name, t.status().message());
      return t.status();
    }
    (std::string_view(name) == "start" ? range.start_ms : range.end_ms) = *t;
    range.bounded = true;
  }
  return range;
}

// Series matching any of the match[] selectors with a sample in the range,
// sorted and without duplicates. Sets *error on bad input.
Result<std::vector<core::Labels>> MatchSeries(const store::View& view,
                                              const std::vector<std::string>& selectors,
                                              const TimeRange& range, Response* error) {
  std::set<core::Labels> out;
  std::vector<store::Sample> samples;
  for (const std::string& text : selectors) {
    Result<std::vector<store::Matcher>> matchers = ParseSelector(text);
    if (!matchers.ok()) {
      *error = InvalidParam("match[]", matchers.status().message());
      return matchers.status();
    }
    Result<std::vector<store::SeriesRef>> refs = view.Select(*matchers);
    if (!refs.ok()) {
      *error = InvalidParam("match[]", refs.status().message());
      return refs.status();
    }
    for (store::SeriesRef ref : *refs) {
      if (range.bounded) {
        view.Samples(ref, range.start_ms - 1, range.end_ms, &samples);
        if (samples.empty()) continue;
      }
      out.insert(view.labels(ref));
    }
  }
  return std::vector<core::Labels>(out.begin(), out.end());
}

Response StringList(const std::vector<std::string>& items) {
  return ApiSuccess([&](JsonWriter& w) {
    w.StartArray();
    for (const std::string& s : items) WriteString(w, s);
    w.EndArray();
  });
}

void WriteValue(JsonWriter& w, const promql::Value& value) {
  w.StartObject();
  w.Key("resultType");
  if (const auto* s = std::get_if<promql::Scalar>(&value)) {
    w.String("scalar");
    w.Key("result");
    WritePoint(w, s->t_ms, s->value);
  } else if (const auto* str = std::get_if<promql::String>(&value)) {
    w.String("string");
    w.Key("result");
    w.StartArray();
    const std::string t = FormatTimestamp(str->t_ms);
    w.RawValue(t.data(), t.size(), rapidjson::kNumberType);
    WriteString(w, str->value);
    w.EndArray();
  } else if (const auto* vec = std::get_if<promql::Vector>(&value)) {
    w.String("vector");
    w.Key("result");
    w.StartArray();
    for (const promql::VectorSample& s : *vec) {
      w.StartObject();
      w.Key("metric");
      WriteLabels(w, s.labels);
      w.Key("value");
      WritePoint(w, s.t_ms, s.value);
      w.EndObject();
    }
    w.EndArray();
  } else if (const auto* mat = std::get_if<promql::Matrix>(&value)) {
    w.String("matrix");
    w.Key("result");
    w.StartArray();
    for (const promql::Series& s : *mat) {
      w.StartObject();
      w.Key("metric");
      WriteLabels(w, s.labels);
      w.Key("values");
      w.StartArray();
      for (const store::Sample& p : s.points) WritePoint(w, p.t_ms, p.value);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// Runtime failures of a parsed query are "execution" errors in Prometheus.
Response EvalError(const Status& status) {
  if (status.IsInvalidArgument() || status.IsResourceExhausted()) {
    return ApiError(ApiErrorType::kExecution, status.message());
  }
  return ApiError(status);
}

class Api {
 public:
  explicit Api(ApiOptions options) : o_(std::move(options)), engine_(o_.engine) {}

  Response Metrics(const Request&) const {
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = o_.metrics ? o_.metrics() : "";
    return r;
  }

  Response Healthy(const Request&) const {
    return Response::Text(200, "amas-scaler is Healthy.\n");
  }

  Response Ready(const Request&) const {
    if (o_.ready && o_.ready()) return Response::Text(200, "amas-scaler is Ready.\n");
    return Response::Text(503, "Service Unavailable\n");
  }

  Response Reload(const Request&) const {
    if (!o_.reload) return Response::Text(500, "failed to reload config: reload not wired\n");
    const Status s = o_.reload();
    if (!s.ok()) return Response::Text(500, "failed to reload config: " + s.message() + "\n");
    return Response::Text(200, "");
  }

  Response Targets(const Request& req) const {
    std::string state(req.Param("state"));
    std::transform(state.begin(), state.end(), state.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool show_active = state.empty() || state == "any" || state == "active";
    const std::string_view pool = req.Param("scrapePool");
    std::vector<sources::TargetHealth> targets;
    if (show_active && o_.targets) targets = o_.targets();
    // Pools in name order, targets within a pool in the scraper's order.
    std::stable_sort(targets.begin(), targets.end(),
                     [](const auto& a, const auto& b) { return a.scrape_pool < b.scrape_pool; });
    return ApiSuccess([&](JsonWriter& w) {
      w.StartObject();
      w.Key("activeTargets");
      w.StartArray();
      for (const sources::TargetHealth& t : targets) {
        if (!pool.empty() && t.scrape_pool != pool) continue;
        WriteTarget(w, t);
      }
      w.EndArray();
      w.Key("droppedTargets");
      w.StartArray();
      w.EndArray();
      w.EndObject();
    });
  }

  Response Series(const Request& req) const {
    const std::vector<std::string> selectors = req.Params("match[]");
    if (selectors.empty()) return ApiError(ApiErrorType::kBadData, "no match[] parameter provided");
    Response error;
    Result<TimeRange> range = ParseRange(req, &error);
    if (!range.ok()) return error;
    const store::View view = o_.store->NewView();
    Result<std::vector<core::Labels>> series = MatchSeries(view, selectors, *range, &error);
    if (!series.ok()) return error;
    return ApiSuccess([&](JsonWriter& w) {
      w.StartArray();
      for (const core::Labels& l : *series) WriteLabels(w, l);
      w.EndArray();
    });
  }

  Response Labels(const Request& req) const {
    Response error;
    Result<TimeRange> range = ParseRange(req, &error);
    if (!range.ok()) return error;
    const std::vector<std::string> selectors = req.Params("match[]");
    const store::View view = o_.store->NewView();
    if (selectors.empty()) return StringList(view.LabelNames());
    Result<std::vector<core::Labels>> series = MatchSeries(view, selectors, *range, &error);
    if (!series.ok()) return error;
    std::set<std::string> names;
    for (const core::Labels& l : *series) {
      for (const core::Label& label : l) names.emplace(label.name);
    }
    return StringList(std::vector<std::string>(names.begin(), names.end()));
  }

  Response LabelValues(const Request& req) const {
    const std::string& name = req.path_params.at("name");
    if (!ValidLabelName(name)) {
      return ApiError(ApiErrorType::kBadData, "invalid label name: " + Quote(name));
    }
    Response error;
    Result<TimeRange> range = ParseRange(req, &error);
    if (!range.ok()) return error;
    const std::vector<std::string> selectors = req.Params("match[]");
    const store::View view = o_.store->NewView();
    if (selectors.empty()) return StringList(view.LabelValues(name));
    Result<std::vector<core::Labels>> series = MatchSeries(view, selectors, *range, &error);
    if (!series.ok()) return error;
    std::set<std::string> values;
    for (const core::Labels& l : *series) {
      if (l.Has(name)) values.emplace(l.Get(name));
    }
    return StringList(std::vector<std::string>(values.begin(), values.end()));
  }

  Response Query(const Request& req) const {
    Result<promql::ExprPtr> expr = promql::Parse(req.Param("query"));
    if (!expr.ok()) return InvalidParam("query", expr.status().message());
    int64_t t_ms = o_.clock->Now().unix_millis();
    if (req.HasParam("time") && !req.Param("time").empty()) {
      Result<int64_t> t = ParseTimeParam(req.Param("time"));
      if (!t.ok()) return InvalidParam("time", t.status().message());
      t_ms = *t;
    }
    const store::View view = o_.store->NewView();
    Result<promql::Value> value = engine_.Instant(**expr, view, core::Time::FromUnixMillis(t_ms));
    if (!value.ok()) return EvalError(value.status());
    return ApiSuccess([&](JsonWriter& w) { WriteValue(w, *value); });
  }

  Response QueryRange(const Request& req) const {
    Result<int64_t> start = ParseTimeParam(req.Param("start"));
    if (!start.ok()) return InvalidParam("start", start.status().message());
    Result<int64_t> end = ParseTimeParam(req.Param("end"));
    if (!end.ok()) return InvalidParam("end", end.status().message());
    if (*end < *start) {
      return InvalidParam("end", "end timestamp must not be before start time");
    }
    Result<int64_t> step = ParseDurationParam(req.Param("step"));
    if (!step.ok()) return InvalidParam("step", step.status().message());
    if (*step <= 0) {
      return InvalidParam("step",
                          "zero or negative query resolution step widths are not accepted. Try "
                          "a positive integer");
    }
    if ((*end - *start) / *step > kMaxPointsPerSeries) {
      return ApiError(ApiErrorType::kBadData,
                      "exceeded maximum resolution of 11,000 points per timeseries. Try "
                      "decreasing the query resolution (?step=XX)");
    }
    Result<promql::ExprPtr> expr = promql::Parse(req.Param("query"));
    if (!expr.ok()) return InvalidParam("query", expr.status().message());
    const store::View view = o_.store->NewView();
    Result<promql::Matrix> matrix =
        engine_.Range(**expr, view, core::Time::FromUnixMillis(*start),
                      core::Time::FromUnixMillis(*end), core::Duration::Millis(*step));
    if (!matrix.ok()) return EvalError(matrix.status());
    return ApiSuccess([&](JsonWriter& w) { WriteValue(w, promql::Value(std::move(*matrix))); });
  }

  Response Config(const Request&) const {
    const std::string yaml = o_.config_yaml ? o_.config_yaml() : "";
    return ApiSuccess([&](JsonWriter& w) {
      w.StartObject();
      w.Key("yaml");
      WriteString(w, yaml);
      w.EndObject();
    });
  }

 private:
  void WriteTarget(JsonWriter& w, const sources::TargetHealth& t) const {
    w.StartObject();
    w.Key("discoveredLabels");
    WriteLabels(w, t.discovered_labels);
    w.Key("labels");
    WriteLabels(w, t.labels);
    w.Key("scrapePool");
    WriteString(w, t.scrape_pool);
    w.Key("scrapeUrl");
    WriteString(w, t.scrape_url);
    w.Key("globalUrl");
    WriteString(w, GlobalUrl(t.scrape_url, o_.external_url, o_.listen_address));
    w.Key("lastError");
    WriteString(w, t.last_error);
    w.Key("lastScrape");
    // Go's zero time.Time, as Prometheus shows a target never scraped.
    WriteString(w,
                t.last_scrape == core::Time() ? "0001-01-01T00:00:00Z" : t.last_scrape.ToRFC3339());
    w.Key("lastScrapeDuration");
    WriteNumber(w, t.last_scrape_duration.seconds());
    w.Key("health");
    WriteString(w, t.health);
    w.Key("scrapeInterval");
    WriteString(w, t.scrape_interval.ToString());
    w.Key("scrapeTimeout");
    WriteString(w, t.scrape_timeout.ToString());
    w.EndObject();
  }

  ApiOptions o_;
  promql::Engine engine_;
};

struct UrlParts {
  std::string scheme;
  std::string host;  // without brackets
  std::string port;  // "" when absent
  std::string rest;  // path, query and fragment
};

bool SplitUrl(std::string_view url, UrlParts* out) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  out->scheme = std::string(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t path = rest.find_first_of("/?#");
  std::string_view hostport = rest.substr(0, path);
  out->rest = path == std::string_view::npos ? "" : std::string(rest.substr(path));
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return false;
    out->host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (hostport.starts_with(":")) out->port = std::string(hostport.substr(1));
    return true;
  }
  const size_t colon = hostport.rfind(':');
  out->host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos) out->port = std::string(hostport.substr(colon + 1));
  return true;
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port.empty() ? h : h + ":" + port;
}

}  // namespace

std::string GlobalUrl(std::string_view scrape_url, std::string_view external_url,
                      std::string_view listen_address) {
  UrlParts target;
  UrlParts external;
  if (!SplitUrl(scrape_url, &target) || target.port.empty() || !SplitUrl(external_url, &external)) {
    return std::string(scrape_url);
  }
  if (target.host != "127.0.0.1" && target.host != "localhost" && target.host != "::1") {
    return std::string(scrape_url);
  }
  const size_t colon = listen_address.rfind(':');
  const std::string own_port =
      colon == std::string_view::npos ? "" : std::string(listen_address.substr(colon + 1));
  if (target.port == own_port) {
    return external.scheme + "://" + JoinHostPort(external.host, external.port) + target.rest;
  }
  return target.scheme + "://" + JoinHostPort(external.host, target.port) + target.rest;
}

void AddApiRoutes(const ApiOptions& options, Router* router) {
  auto api = std::make_shared<const Api>(options);
  auto bind = [api](Response (Api::*method)(const Request&) const) {
    return [api, method](const Request& req) { return ((*api).*method)(req); };
  };
  router->Handle("GET", "/metrics", bind(&Api::Metrics));
  for (const char* m : {"GET", "HEAD"}) {
    router->Handle(m, "/-/healthy", bind(&Api::Healthy));
    router->Handle(m, "/-/ready", bind(&Api::Ready));
  }
  for (const char* m : {"POST", "PUT"}) router->Handle(m, "/-/reload", bind(&Api::Reload));
  router->Handle("GET", "/api/v1/targets", bind(&Api::Targets));
  router->Handle("GET", "/api/v1/status/config", bind(&Api::Config));
  for (const char* m : {"GET", "POST"}) {
    router->Handle(m, "/api/v1/query", bind(&Api::Query));
    router->Handle(m, "/api/v1/query_range", bind(&Api::QueryRange));
    router->Handle(m, "/api/v1/series", bind(&Api::Series));
    router->Handle(m, "/api/v1/labels", bind(&Api::Labels));
  }
  router->Handle("GET", "/api/v1/label/{name}/values", bind(&Api::LabelValues));
}

}  // namespace amas::http
