#include "http/json.h"

#include <charconv>
#include <cmath>

namespace amas::http {
namespace {

struct ErrorKind {
  const char* name;
  int status;
};

ErrorKind Kind(ApiErrorType type) {
  switch (type) {
    case ApiErrorType::kBadData:
      return {"bad_data", 400};
    case ApiErrorType::kExecution:
      return {"execution", 422};
    case ApiErrorType::kInternal:
      return {"internal", 500};
    case ApiErrorType::kUnavailable:
      return {"unavailable", 503};
    case ApiErrorType::kTimeout:
      return {"timeout", 503};
    case ApiErrorType::kNotFound:
      return {"not_found", 404};
  }
  return {"internal", 500};
}

Response Json(int status, rapidjson::StringBuffer& buf) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

}  // namespace

Response ApiSuccess(const std::function<void(JsonWriter&)>& write_data) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  write_data(w);
  w.EndObject();
  return Json(200, buf);
}

Response ApiError(ApiErrorType type, std::string_view message) {
  const ErrorKind kind = Kind(type);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.String("error");
  w.Key("errorType");
  w.String(kind.name);
  w.Key("error");
  WriteString(w, message);
  w.EndObject();
  return Json(kind.status, buf);
}

Response ApiError(const core::Status& status) {
  using Code = core::Status::Code;
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kUnimplemented:
      return ApiError(ApiErrorType::kBadData, status.message());
    case Code::kNotFound:
      return ApiError(ApiErrorType::kNotFound, status.message());
    case Code::kResourceExhausted:
    case Code::kFailedPrecondition:
      return ApiError(ApiErrorType::kExecution, status.message());
    case Code::kDeadlineExceeded:
      return ApiError(ApiErrorType::kTimeout, status.message());
    case Code::kUnavailable:
      return ApiError(ApiErrorType::kUnavailable, status.message());
    default:
      return ApiError(ApiErrorType::kInternal, status.message());
  }
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip, no exponent.
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::string FormatTimestamp(int64_t t_ms) {
  std::string out;
  uint64_t abs = t_ms < 0 ? static_cast<uint64_t>(-(t_ms + 1)) + 1 : static_cast<uint64_t>(t_ms);
  if (t_ms < 0) out.push_back('-');
  out += std::to_string(abs / 1000);
  const uint64_t frac = abs % 1000;
  if (frac != 0) {
    // Prometheus keeps the three digits ("1.050"), it only omits ".000".
    char digits[5];
    std::snprintf(digits, sizeof digits, ".%03u", static_cast<unsigned>(frac));
    out += digits;
  }
  return out;
}

void WriteNumber(JsonWriter& w, double v) {
  if (!std::isfinite(v)) {
    w.Null();  // Go refuses to encode these; null keeps the document valid
    return;
  }
  char buf[64];
  const double abs = std::abs(v);
  const bool exp = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v,
                                 exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::string out(buf, ec == std::errc() ? end : buf);
  if (exp) {  // Go writes e-7, not e-07
    const size_t e = out.find('e');
    if (e != std::string::npos && e + 2 < out.size() && out[e + 2] == '0') out.erase(e + 2, 1);
  }
  w.RawValue(out.data(), out.size(), rapidjson::kNumberType);
}

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteLabels(JsonWriter& w, const core::Labels& labels) {
  w.StartObject();
  for (const core::Label& l : labels) {
    w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
    WriteString(w, l.value);
  }
  w.EndObject();
}

void WritePoint(JsonWriter& w, int64_t t_ms, double value) {
  w.StartArray();
  const std::string t = FormatTimestamp(t_ms);
  w.RawValue(t.data(), t.size(), rapidjson::kNumberType);
  WriteString(w, FormatFloat(value));
  w.EndArray();
}

}  // namespace amas::http
