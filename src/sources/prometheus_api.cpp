#include "sources/prometheus_api.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/http_status.h"
#include "sources/curl_util.h"
#include "sources/targets.h"

namespace amas::sources {
namespace {

core::Status MapErrorType(std::string_view type, std::string message) {
  if (type == "bad_data") return core::Status::InvalidArgument(std::move(message));
  if (type == "timeout") return core::Status::DeadlineExceeded(std::move(message));
  if (type == "canceled") return core::Status::Aborted(std::move(message));
  if (type == "unavailable") return core::Status::Unavailable(std::move(message));
  if (type == "not_found") return core::Status::NotFound(std::move(message));
  if (type == "execution") return core::Status::FailedPrecondition(std::move(message));
  return core::Status::Internal(std::string(type) + ": " + message);
}

core::Status StatusForHttp(long http_status, std::string_view body) {
  std::string text = "server returned HTTP status " + std::to_string(http_status);
  const std::string_view reason = core::HttpStatusText(static_cast<int>(http_status));
  if (!reason.empty()) text.append(" ").append(reason);
  if (!body.empty()) text.append(": ").append(body.substr(0, 200));
  if (http_status == 429) return core::Status::ResourceExhausted(std::move(text));
  if (http_status == 401) return core::Status::Unauthenticated(std::move(text));
  if (http_status == 403) return core::Status::PermissionDenied(std::move(text));
  if (http_status == 404) return core::Status::NotFound(std::move(text));
  if (http_status >= 500) return core::Status::Unavailable(std::move(text));
  return core::Status::InvalidArgument(std::move(text));
}

core::Status Malformed(std::string_view what) {
  return core::Status::Internal("malformed query response: " + std::string(what));
}

// [<unix seconds>, "<value>"] as Prometheus writes a point.
core::Status ParsePoint(const rapidjson::Value& v, int64_t* t_ms, std::string_view* text) {
  if (!v.IsArray() || v.Size() != 2 || !v[0].IsNumber() || !v[1].IsString()) {
    return Malformed("a point is not [time, \"value\"]");
  }
  *t_ms = std::llround(v[0].GetDouble() * 1000.0);
  *text = std::string_view(v[1].GetString(), v[1].GetStringLength());
  return core::Status::Ok();
}

core::Status ParseValue(std::string_view text, double* out) {
  // strtod reads Go's "NaN", "+Inf", "-Inf" as well as plain numbers.
  std::string s(text);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    return Malformed("value \"" + s + "\" is not a number");
  }
  return core::Status::Ok();
}

core::Status ParseNumericPoint(const rapidjson::Value& v, ApiPoint* p) {
  std::string_view text;
  core::Status st = ParsePoint(v, &p->t_ms, &text);
  if (!st.ok()) return st;
  return ParseValue(text, &p->value);
}

core::Status ParseMetric(const rapidjson::Value& item, core::Labels* out) {
  if (!item.IsObject()) return Malformed("a series is not an object");
  auto m = item.FindMember("metric");
  core::LabelsBuilder b;
  if (m != item.MemberEnd()) {
    if (!m->value.IsObject()) return Malformed("\"metric\" is not an object");
    for (auto& l : m->value.GetObject()) {
      if (!l.value.IsString()) return Malformed("a label value is not a string");
      b.Set(std::string_view(l.name.GetString(), l.name.GetStringLength()),
            std::string_view(l.value.GetString(), l.value.GetStringLength()));
    }
  }
  *out = b.Build();
  return core::Status::Ok();
}

std::string FormatSeconds(core::Time t) {
  char buf[40];
  const int64_t ms = t.unix_millis();
  const int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(s),
                static_cast<long long>(ms - s * 1000));
  return buf;
}

bool Transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// Collects Retry-After from the response headers.
size_t ReadHeader(char* data, size_t size, size_t n, void* user) {
  const std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      int64_t seconds = -1;
      std::from_chars(v.data(), v.data() + v.size(), seconds);
      *static_cast<int64_t*>(user) = seconds;
    }
  }
  return size * n;
}

}  // namespace

core::Result<QueryResult> ParseQueryResponse(std::string_view body, long http_status) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    if (http_status != 200) return StatusForHttp(http_status, body);
    return Malformed(std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                     " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  auto status = doc.FindMember("status");
  if (status == doc.MemberEnd() || !status->value.IsString()) {
    if (http_status != 200) return StatusForHttp(http_status, body);
    return Malformed("no \"status\"");
  }
  if (std::string_view(status->value.GetString()) != "success") {
    auto type = doc.FindMember("errorType");
    auto error = doc.FindMember("error");
    const std::string_view type_text =
        type != doc.MemberEnd() && type->value.IsString() ? type->value.GetString() : "";
    std::string message =
        error != doc.MemberEnd() && error->value.IsString() ? error->value.GetString() : "";
    if (type_text.empty()) return StatusForHttp(http_status, message);
    return MapErrorType(type_text, std::move(message));
  }
  if (http_status != 200) return StatusForHttp(http_status, body);

  QueryResult out;
  auto warnings = doc.FindMember("warnings");
  if (warnings != doc.MemberEnd() && warnings->value.IsArray()) {
    for (auto& w : warnings->value.GetArray()) {
      if (w.IsString()) out.warnings.emplace_back(w.GetString(), w.GetStringLength());
    }
  }
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsObject()) return Malformed("no \"data\"");
  auto type = data->value.FindMember("resultType");
  auto result = data->value.FindMember("result");
  if (type == data->value.MemberEnd() || !type->value.IsString() ||
      result == data->value.MemberEnd()) {
    return Malformed("no \"resultType\" or \"result\"");
  }
  const std::string_view result_type = type->value.GetString();
  const rapidjson::Value& r = result->value;
  if (result_type == "scalar") {
    out.type = QueryResult::Type::kScalar;
    core::Status st = ParseNumericPoint(r, &out.scalar);
    if (!st.ok()) return st;
    return out;
  }
  if (result_type == "string") {
    out.type = QueryResult::Type::kString;
    std::string_view text;
    core::Status st = ParsePoint(r, &out.string_t_ms, &text);
    if (!st.ok()) return st;
    out.string_value = std::string(text);
    return out;
  }
  const bool matrix = result_type == "matrix";
  if (!matrix && result_type != "vector") {
    return Malformed("unknown resultType \"" + std::string(result_type) + "\"");
  }
  out.type = matrix ? QueryResult::Type::kMatrix : QueryResult::Type::kVector;
  if (!r.IsArray()) return Malformed("\"result\" is not an array");
  out.series.reserve(r.Size());
  for (const rapidjson::Value& item : r.GetArray()) {
    ApiSeries s;
    core::Status st = ParseMetric(item, &s.metric);
    if (!st.ok()) return st;
    if (item.HasMember("histogram") || item.HasMember("histograms")) {
      return core::Status::Unimplemented("native histogram samples are not supported (series " +
                                         s.metric.ToString() + ")");
    }
    if (matrix) {
      auto values = item.FindMember("values");
      if (values == item.MemberEnd() || !values->value.IsArray()) {
        return Malformed("a matrix series has no \"values\"");
      }
      s.points.reserve(values->value.Size());
      for (const rapidjson::Value& v : values->value.GetArray()) {
        ApiPoint p;
        st = ParseNumericPoint(v, &p);
        if (!st.ok()) return st;
        s.points.push_back(p);
      }
    } else {
      auto value = item.FindMember("value");
      if (value == item.MemberEnd()) return Malformed("a vector sample has no \"value\"");
      ApiPoint p;
      st = ParseNumericPoint(value->value, &p);
      if (!st.ok()) return st;
      s.points.push_back(p);
    }
    out.series.push_back(std::move(s));
  }
  return out;
}

struct PrometheusApi::Impl {
  PrometheusApiOptions options;
  std::mutex mu;  // serializes calls: one easy handle, one connection
  CurlEasy easy;
  std::atomic<uint64_t> attempts{0};

  core::Result<QueryResult> Call(std::string_view path, const std::string& form);
  // One HTTP exchange; `retry` says whether a failure is worth another attempt.
  core::Result<QueryResult> Attempt(const std::string& url, const std::string& form, bool* retry,
                                    int64_t* retry_after_s);
};

core::Result<std::unique_ptr<PrometheusApi>> PrometheusApi::Create(PrometheusApiOptions options) {
  if (!options.url.starts_with("http://") && !options.url.starts_with("https://")) {
    return core::Status::InvalidArgument(
        "prometheus datasource url must start with http:// or "
        "https://: \"" +
        options.url + "\"");
  }
  while (options.url.ends_with("/")) options.url.pop_back();
  if (options.max_attempts < 1) {
    return core::Status::InvalidArgument("prometheus datasource: max_attempts must be >= 1");
  }
  if (options.timeout <= core::Duration()) {
    return core::Status::InvalidArgument("prometheus datasource: timeout must be positive");
  }
  if (!options.sleep) {
    options.sleep = [](core::Duration d) {
      std::this_thread::sleep_for(std::chrono::milliseconds(d.millis()));
    };
  }
  EnsureCurlGlobalInit();
  std::unique_ptr<PrometheusApi> api(new PrometheusApi());
  api->impl_ = std::make_unique<Impl>();
  api->impl_->options = std::move(options);
  api->impl_->easy.reset(curl_easy_init());
  if (!api->impl_->easy) return core::Status::Internal("curl_easy_init failed");
  return api;
}

PrometheusApi::~PrometheusApi() = default;

uint64_t PrometheusApi::attempts() const { return impl_->attempts.load(); }

core::Result<QueryResult> PrometheusApi::Query(std::string_view expr, core::Time at) {
  std::string form = "query=" + QueryEscape(expr) + "&time=" + FormatSeconds(at) +
                     "&timeout=" + QueryEscape(impl_->options.timeout.ToString());
  return impl_->Call("/api/v1/query", form);
}

core::Result<QueryResult> PrometheusApi::QueryRange(std::string_view expr, core::Time start,
                                                    core::Time end, core::Duration step) {
  if (step <= core::Duration()) {
    return core::Status::InvalidArgument("query_range: step must be positive");
  }
  std::string form = "query=" + QueryEscape(expr) + "&start=" + FormatSeconds(start) +
                     "&end=" + FormatSeconds(end) + "&step=" + QueryEscape(step.ToString()) +
                     "&timeout=" + QueryEscape(impl_->options.timeout.ToString());
  return impl_->Call("/api/v1/query_range", form);
}

core::Result<QueryResult> PrometheusApi::Impl::Call(std::string_view path,
                                                    const std::string& form) {
  std::lock_guard<std::mutex> lock(mu);
  const std::string url = options.url + std::string(path);
  core::Duration backoff = options.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    int64_t retry_after_s = -1;
    core::Result<QueryResult> r = Attempt(url, form, &retry, &retry_after_s);
    if (r.ok() || !retry || attempt >= options.max_attempts) return r;
    core::Duration wait = std::min(backoff, options.max_backoff);
    if (retry_after_s >= 0) {
      wait = std::min(core::Duration::Seconds(retry_after_s), options.max_backoff);
    }
    options.sleep(wait);
    backoff = backoff * 2;
  }
}

core::Result<QueryResult> PrometheusApi::Impl::Attempt(const std::string& url,
                                                       const std::string& form, bool* retry,
                                                       int64_t* retry_after_s) {
  ++attempts;
  CURL* h = easy.get();
  curl_easy_reset(h);
  CurlSlist headers;
  AppendHeader(&headers, "Accept: application/json");
  if (!options.bearer_token_file.empty()) {
    core::Result<std::string> token =
        ReadSecretFile(options.bearer_token_file, "bearer_token_file");
    if (!token.ok()) return token.status();
    AppendHeader(&headers, "Authorization: Bearer " + *token);
  }
  std::string password;
  if (!options.basic_auth_username.empty()) {
    if (!options.basic_auth_password_file.empty()) {
      core::Result<std::string> p =
          ReadSecretFile(options.basic_auth_password_file, "password_file");
      if (!p.ok()) return p.status();
      password = std::move(*p);
    }
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, options.basic_auth_username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
  }
  std::string get_url;
  if (options.use_post) {
    AppendHeader(&headers, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  } else {
    get_url = url + "?" + form;
    curl_easy_setopt(h, CURLOPT_URL, get_url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  std::string body;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  curl_easy_setopt(h, CURLOPT_USERAGENT, "amas-scaler/0.1");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.millis()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &ReadHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, retry_after_s);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (!options.tls_ca_file.empty())
    curl_easy_setopt(h, CURLOPT_CAINFO, options.tls_ca_file.c_str());
  if (options.tls_insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLcode code = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);  // errbuf dies with this frame
  if (code != CURLE_OK) {
    *retry = Transient(code);
    return TransferError(h, code, errbuf, options.use_post ? "Post" : "Get", url);
  }
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  core::Result<QueryResult> r = ParseQueryResponse(body, http_status);
  // A server-side query timeout would time out again: not retried.
  *retry =
      !r.ok() && (http_status >= 500 || http_status == 429) && !r.status().IsDeadlineExceeded();
  return r;
}

}  // namespace amas::sources
