#include "sources/alertmanager.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "core/value.h"

namespace amas::sources {
namespace {

using core::Result;
using core::Status;
using rapidjson::Value;

Status FieldError(const std::string& field, const std::string& message) {
  return Status::InvalidArgument(field + ": " + message);
}

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
          (i > 0 && c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

Result<std::string> String(const Value& obj, const char* key, const std::string& path,
                           bool required = true) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) {
    if (required) return FieldError(path + key, "missing");
    return std::string();
  }
  if (!it->value.IsString()) return FieldError(path + key, "must be a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

Result<std::vector<std::pair<std::string, std::string>>> StringMap(const Value& obj,
                                                                    const char* key,
                                                                    const std::string& path,
                                                                    bool label_names) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return FieldError(path + key, "missing");
  if (!it->value.IsObject()) return FieldError(path + key, "must be an object of strings");
  for (const auto& m : it->value.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsString()) return FieldError(path + key + "." + name, "must be a string");
    if (label_names && !IsLabelName(name)) {
      return FieldError(path + key, "invalid label name \"" + name + "\"");
    }
    out.emplace_back(std::move(name), std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  return out;
}

// Alertmanager writes Go's zero time (year 1) for "no end yet".
Result<std::optional<core::Time>> Timestamp(const Value& obj, const char* key,
                                            const std::string& path) {
  Result<std::string> s = String(obj, key, path);
  if (!s.ok()) return s.status();
  Result<core::Time> t = core::Time::Parse(*s);
  if (!t.ok() || s->find('T') == std::string::npos) {
    return FieldError(path + key, "not an RFC 3339 time: \"" + *s + "\"");
  }
  if (t->unix_millis() <= 0) return std::optional<core::Time>();
  return std::optional<core::Time>(*t);
}

}  // namespace

Result<WebhookPayload> ParseWebhook(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return Status::InvalidArgument(std::string("body: invalid JSON at offset ") +
                                   std::to_string(doc.GetErrorOffset()) + ": " +
                                   rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return FieldError("body", "must be a JSON object");
  WebhookPayload p;
  Result<std::string> version = String(doc, "version", "");
  if (!version.ok()) return version.status();
  if (*version != "4") return FieldError("version", "unsupported version \"" + *version + "\", want \"4\"");
  p.version = *version;
  for (auto [field, out] : {std::pair{"receiver", &p.receiver}, std::pair{"status", &p.status},
                            std::pair{"groupKey", &p.group_key},
                            std::pair{"externalURL", &p.external_url}}) {
    Result<std::string> s = String(doc, field, "");
    if (!s.ok()) return s.status();
    *out = std::move(*s);
  }
  if (p.status != "firing" && p.status != "resolved") {
    return FieldError("status", "must be \"firing\" or \"resolved\", got \"" + p.status + "\"");
  }
  for (const char* key : {"groupLabels", "commonLabels", "commonAnnotations"}) {
    auto m = StringMap(doc, key, "", std::string_view(key) != "commonAnnotations");
    if (!m.ok()) return m.status();
  }
  if (auto it = doc.FindMember("truncatedAlerts"); it != doc.MemberEnd()) {
    if (!it->value.IsInt64() || it->value.GetInt64() < 0) {
      return FieldError("truncatedAlerts", "must be a non-negative integer");
    }
    p.truncated_alerts = it->value.GetInt64();
  }
  auto alerts = doc.FindMember("alerts");
  if (alerts == doc.MemberEnd()) return FieldError("alerts", "missing");
  if (!alerts->value.IsArray()) return FieldError("alerts", "must be a list");
  size_t i = 0;
  for (const Value& a : alerts->value.GetArray()) {
    const std::string path = "alerts[" + std::to_string(i++) + "].";
    if (!a.IsObject()) return FieldError(path.substr(0, path.size() - 1), "must be an object");
    WebhookAlert w;
    Result<std::string> status = String(a, "status", path);
    if (!status.ok()) return status.status();
    if (*status != "firing" && *status != "resolved") {
      return FieldError(path + "status", "must be \"firing\" or \"resolved\", got \"" + *status + "\"");
    }
    w.status = *status;
    auto labels = StringMap(a, "labels", path, true);
    if (!labels.ok()) return labels.status();
    core::LabelsBuilder b;
    for (const auto& [k, v] : *labels) b.Set(k, v);
    w.labels = b.Build();
    if (w.labels.Get("alertname").empty()) return FieldError(path + "labels", "no alertname");
    auto annotations = StringMap(a, "annotations", path, false);
    if (!annotations.ok()) return annotations.status();
    w.annotations = std::move(*annotations);
    auto starts = Timestamp(a, "startsAt", path);
    if (!starts.ok()) return starts.status();
    if (!*starts) return FieldError(path + "startsAt", "must be set");
    w.starts_at = **starts;
    auto ends = Timestamp(a, "endsAt", path);
    if (!ends.ok()) return ends.status();
    w.ends_at = *ends;
    Result<std::string> gen = String(a, "generatorURL", path, false);
    if (!gen.ok()) return gen.status();
    w.generator_url = std::move(*gen);
    Result<std::string> fp = String(a, "fingerprint", path);
    if (!fp.ok()) return fp.status();
    if (fp->empty()) return FieldError(path + "fingerprint", "must not be empty");
    w.fingerprint = std::move(*fp);
    p.alerts.push_back(std::move(w));
  }
  return p;
}

AlertIntake::AlertIntake(core::Duration stale_after) : stale_after_(stale_after) {}

IntakeCounts AlertIntake::Receive(const WebhookPayload& payload, core::Time now) {
  IntakeCounts counts;
  std::lock_guard<std::mutex> lock(mu_);
  for (const WebhookAlert& a : payload.alerts) {
    auto it = active_.find(a.fingerprint);
    const bool ended = a.status == "resolved" || (a.ends_at && *a.ends_at <= now);
    if (ended) {
      if (it != active_.end() && it->second.starts_at == a.starts_at) {
        ended_.push_back(it->second.series);
        active_.erase(it);
        ++counts.resolved;
      } else {
        ++counts.duplicates;  // unknown, or a resolution we already applied
      }
      continue;
    }
    if (it != active_.end() && it->second.starts_at == a.starts_at) {
      it->second.last_seen = now;
      it->second.ends_at = a.ends_at;
      ++counts.duplicates;
      continue;
    }
    core::LabelsBuilder b(a.labels);
    b.Set(core::kMetricName, "ALERTS");
    b.Set("alertstate", "firing");
    Active entry{b.Build(), a.starts_at, a.ends_at, now};
    if (it != active_.end()) {
      if (!(it->second.series == entry.series)) ended_.push_back(it->second.series);
      it->second = std::move(entry);
    } else {
      active_.emplace(a.fingerprint, std::move(entry));
    }
    ++counts.firing;
  }
  return counts;
}

std::vector<std::pair<core::Labels, double>> AlertIntake::Samples(core::Time now) {
  std::vector<std::pair<core::Labels, double>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = active_.begin(); it != active_.end();) {
    const bool expired = (it->second.ends_at && *it->second.ends_at <= now) ||
                         now - it->second.last_seen > stale_after_;
    if (expired) {
      ended_.push_back(it->second.series);
      it = active_.erase(it);
      continue;
    }
    out.emplace_back(it->second.series, 1.0);
    ++it;
  }
  for (core::Labels& l : ended_) {
    bool still_active = false;
    for (const auto& [labels, v] : out) still_active |= labels == l;
    if (!still_active) out.emplace_back(std::move(l), core::StaleNaN());
  }
  ended_.clear();
  return out;
}

size_t AlertIntake::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.size();
}

}  // namespace amas::sources
