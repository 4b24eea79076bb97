#include "sources/targets.h"

#include <charconv>
#include <set>

namespace amas::sources {
namespace {

bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

core::Status BadAddress(std::string_view address, std::string_view why) {
  return core::Status::InvalidArgument("target \"" + std::string(address) +
                                       "\": " + std::string(why));
}

// host:port, [v6]:port or a bare host; the port (if any) 1..65535.
core::Status CheckAddress(std::string_view address) {
  if (address.empty()) return BadAddress(address, "empty address");
  for (char c : address) {
    if (c == '/') return BadAddress(address, "is not a valid hostname (no scheme or path here)");
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return BadAddress(address, "contains whitespace");
    }
  }
  std::string_view host = address;
  std::string_view port;
  if (address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return BadAddress(address, "missing ']' in address");
    host = address.substr(1, close - 1);
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return BadAddress(address, "unexpected text after ']'");
      port = rest.substr(1);
      if (port.empty()) return BadAddress(address, "empty port");
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon != std::string_view::npos) {
      if (address.find(':') != colon) return BadAddress(address, "too many colons in address");
      host = address.substr(0, colon);
      port = address.substr(colon + 1);
      if (port.empty()) return BadAddress(address, "empty port");
    }
  }
  if (host.empty()) return BadAddress(address, "empty host");
  if (!port.empty()) {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return BadAddress(address, "invalid port \"" + std::string(port) + "\"");
    }
  }
  return core::Status::Ok();
}

bool HasPort(std::string_view address) {
  if (address.front() == '[') return address.find("]:") != std::string_view::npos;
  return address.find(':') != std::string_view::npos;
}

std::string EncodeParams(const std::map<std::string, std::vector<std::string>>& params) {
  std::string out;
  for (const auto& [name, values] : params) {  // std::map: sorted by key, as Go's Encode
    for (const std::string& value : values) {
      if (!out.empty()) out.push_back('&');
      out += QueryEscape(name);
      out.push_back('=');
      out += QueryEscape(value);
    }
  }
  return out;
}

}  // namespace

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

core::Status ValidateConfig(const ScrapeConfig& c) {
  auto fail = [&](std::string why) {
    return core::Status::InvalidArgument("scrape config \"" + c.job_name + "\": " + why);
  };
  if (c.job_name.empty()) return core::Status::InvalidArgument("scrape config: job_name is empty");
  if (c.scheme != "http" && c.scheme != "https") {
    return fail("scheme must be http or https, not \"" + c.scheme + "\"");
  }
  if (c.metrics_path.empty() || c.metrics_path.front() != '/') {
    return fail("metrics_path must start with '/': \"" + c.metrics_path + "\"");
  }
  if (c.scrape_interval <= core::Duration()) return fail("scrape_interval must be positive");
  if (c.scrape_timeout <= core::Duration()) return fail("scrape_timeout must be positive");
  if (c.scrape_timeout > c.scrape_interval) {
    return fail("scrape_timeout " + c.scrape_timeout.ToString() + " greater than scrape_interval " +
                c.scrape_interval.ToString());
  }
  if (c.body_size_limit_bytes < 0) return fail("body_size_limit must not be negative");
  if (c.sample_limit < 0) return fail("sample_limit must not be negative");
  if (!c.bearer_token_file.empty() &&
      (!c.basic_auth_username.empty() || !c.basic_auth_password_file.empty())) {
    return fail("at most one of basic_auth and bearer_token_file may be configured");
  }
  if (!c.basic_auth_password_file.empty() && c.basic_auth_username.empty()) {
    return fail("basic_auth has a password_file but no username");
  }
  for (const auto& [name, values] : c.params) {
    if (name.empty()) return fail("params has an empty name");
  }
  for (const ScrapeConfig::StaticConfig& sc : c.static_configs) {
    for (const std::string& t : sc.targets) {
      core::Status st = CheckAddress(t);
      if (!st.ok()) return st.WithContext("scrape config \"" + c.job_name + "\"");
    }
    for (const auto& [name, value] : sc.labels) {
      if (!IsLabelName(name)) return fail("invalid label name \"" + name + "\"");
    }
  }
  return core::Status::Ok();
}

core::Status ValidateConfigs(const std::vector<ScrapeConfig>& configs) {
  std::set<std::string> names;
  for (const ScrapeConfig& c : configs) {
    core::Status st = ValidateConfig(c);
    if (!st.ok()) return st;
    if (!names.insert(c.job_name).second) {
      return core::Status::InvalidArgument("found multiple scrape configs with job name \"" +
                                           c.job_name + "\"");
    }
  }
  return core::Status::Ok();
}

std::vector<TargetSpec> BuildTargets(const ScrapeConfig& c) {
  std::vector<TargetSpec> out;
  std::set<std::pair<std::string, uint64_t>> seen;  // (url, labels hash)
  const std::string query = EncodeParams(c.params);
  for (const ScrapeConfig::StaticConfig& sc : c.static_configs) {
    for (const std::string& raw : sc.targets) {
      std::string address = raw;
      if (!HasPort(address)) address += c.scheme == "https" ? ":443" : ":80";

      // As Prometheus's PopulateLabels: group labels, then job and the
      // __scheme__/__metrics_path__/... defaults where the group set none.
      core::LabelsBuilder d;
      for (const auto& [name, value] : sc.labels) d.Set(name, value);
      d.Set("__address__", address);
      auto set_default = [&](std::string_view name, std::string_view value) {
        if (d.Get(name).empty()) d.Set(name, value);
      };
      set_default("job", c.job_name);
      set_default("__scrape_interval__", c.scrape_interval.ToString());
      set_default("__scrape_timeout__", c.scrape_timeout.ToString());
      set_default("__metrics_path__", c.metrics_path);
      set_default("__scheme__", c.scheme);
      for (const auto& [name, values] : c.params) {
        if (!values.empty()) d.Set("__param_" + name, values.front());
      }
      TargetSpec t;
      t.job = c.job_name;
      t.address = address;
      t.discovered_labels = d.Build();

      core::LabelsBuilder l;
      for (core::Label label : t.discovered_labels) {
        if (label.name.starts_with("__")) continue;
        l.Set(label.name, label.value);
      }
      if (l.Get("instance").empty()) l.Set("instance", address);
      t.labels = l.Build();

      t.url = c.scheme + "://" + address + c.metrics_path;
      if (!query.empty())
        t.url += (c.metrics_path.find('?') == std::string::npos ? "?" : "&") + query;
      t.hash = core::Hash64(t.url, t.labels.hash());
      if (!seen.emplace(t.url, t.labels.hash()).second) continue;
      out.push_back(std::move(t));
    }
  }
  return out;
}

core::Time NextScrapeTime(uint64_t hash, core::Duration interval, core::Time now) {
  const int64_t period = interval.millis();
  if (period <= 0) return now;
  const int64_t offset = static_cast<int64_t>(hash % static_cast<uint64_t>(period));
  const int64_t ms = now.unix_millis();
  int64_t phase = ms % period;
  if (phase < 0) phase += period;
  int64_t next = ms - phase + offset;
  if (next < ms) next += period;
  return core::Time::FromUnixMillis(next);
}

}  // namespace amas::sources
