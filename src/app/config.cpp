#include "app/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/yaml_reader.h"

namespace amas::app {
namespace {

using core::Result;
using core::Status;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
          (i > 0 && c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

// A mapping of label names to values, names checked.
Result<std::map<std::string, std::string>> ReadLabels(const YamlNode& node) {
  auto entries = node.Entries();
  if (!entries.ok()) return entries.status();
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : *entries) {
    const std::string& name = key.raw().Scalar();
    if (!ValidLabelName(name)) return key.Error(Quote(name) + " is not a valid label name");
    if (value.IsNull()) continue;  // an empty value means "no such label"
    Result<std::string> v = value.AsString();
    if (!v.ok()) return v.status();
    out[name] = std::move(*v);
  }
  return out;
}

// Prometheus resolves file references against the config file's folder.
std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

bool IsSecretKey(std::string_view key) {
  static constexpr std::string_view kSecrets[] = {
      "password",      "credentials", "bearer_token", "secret",     "token",
      "client_secret", "api_key",     "hmac_secret",  "auth_token",
  };
  return std::find(std::begin(kSecrets), std::end(kSecrets), key) != std::end(kSecrets);
}

void Redact(YAML::Node node) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) Redact(node[i]);
    return;
  }
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && IsSecretKey(it->first.Scalar()) && it->second.IsScalar() &&
        !it->second.Scalar().empty()) {
      it->second = "<secret>";
    } else {
      Redact(it->second);
    }
  }
}

class Loader {
 public:
  explicit Loader(std::string dir) : dir_(std::move(dir)) {}

  Status Global(const YamlNode& node, GlobalConfig* g) {
    MapReader r(node);
    const bool timeout_set = r.Get("scrape_timeout").has_value();
    r.Duration("scrape_interval", &g->scrape_interval);
    r.Duration("scrape_timeout", &g->scrape_timeout);
    r.Duration("evaluation_interval", &g->evaluation_interval);
    if (auto labels_node = r.Get("external_labels")) {
      Result<std::map<std::string, std::string>> labels = ReadLabels(*labels_node);
      if (!labels.ok()) return labels.status();
      g->external_labels = core::Labels::FromPairs(
          std::vector<std::pair<std::string, std::string>>(labels->begin(), labels->end()));
    }
    if (Status s = r.Finish(); !s.ok()) return s;
    for (auto [key, d] : {std::pair{"scrape_interval", g->scrape_interval},
                          std::pair{"evaluation_interval", g->evaluation_interval}}) {
      if (d <= core::Duration()) return r.Get(key)->Error("must be greater than 0s");
    }
    if (!timeout_set && g->scrape_timeout > g->scrape_interval) {
      g->scrape_timeout = g->scrape_interval;
    }
    if (g->scrape_timeout > g->scrape_interval) {
      return r.Get("scrape_timeout")->Error("global scrape timeout greater than scrape interval");
    }
    return Status();
  }

  Result<sources::ScrapeConfig> Scrape(const YamlNode& node, const GlobalConfig& global) {
    sources::ScrapeConfig sc;
    MapReader r(node);
    r.String("job_name", &sc.job_name, /*required=*/true);
    if (r.ok() && sc.job_name.empty()) r.Fail(r.Get("job_name")->Error("must not be empty"));
    sc.scrape_interval = global.scrape_interval;
    r.Duration("scrape_interval", &sc.scrape_interval);
    const bool timeout_set = r.Get("scrape_timeout").has_value();
    sc.scrape_timeout = global.scrape_timeout;
    r.Duration("scrape_timeout", &sc.scrape_timeout);
    r.String("metrics_path", &sc.metrics_path);
    r.String("scheme", &sc.scheme);
    if (r.ok() && sc.scheme != "http" && sc.scheme != "https") {
      r.Fail(r.Get("scheme")->Error("must be http or https, got " + Quote(sc.scheme)));
    }
    r.Bool("honor_labels", &sc.honor_labels);
    r.Bool("honor_timestamps", &sc.honor_timestamps);
    if (auto params = r.Get("params")) r.Fail(Params(*params, &sc.params));
    r.Bytes("body_size_limit", &sc.body_size_limit_bytes);
    r.Int("sample_limit", &sc.sample_limit);
    if (r.ok() && sc.sample_limit < 0) r.Fail(r.Get("sample_limit")->Error("must not be negative"));
    const bool has_bearer_file = r.Get("bearer_token_file").has_value();
    r.String("bearer_token_file", &sc.bearer_token_file);
    sc.bearer_token_file = Resolve(dir_, sc.bearer_token_file);
    r.Unsupported("bearer_token", "use bearer_token_file");
    const bool has_basic_auth = r.Get("basic_auth").has_value();
    if (auto auth = r.Get("basic_auth")) r.Fail(BasicAuth(*auth, &sc));
    std::optional<YamlNode> authorization = r.Get("authorization");
    if (authorization) r.Fail(Authorization(*authorization, &sc));
    if (auto tls = r.Get("tls_config")) r.Fail(Tls(*tls, &sc));
    if (auto statics = r.Get("static_configs")) r.Fail(StaticConfigs(*statics, &sc));
    for (const char* key :
         {"relabel_configs", "metric_relabel_configs", "oauth2", "proxy_url", "no_proxy",
          "proxy_from_environment", "proxy_connect_header", "follow_redirects", "enable_http2",
          "label_limit", "label_name_length_limit", "label_value_length_limit", "target_limit"}) {
      r.Unsupported(key);
    }
    if (node.IsMap()) {
      for (auto it = node.raw().begin(); it != node.raw().end(); ++it) {
        const std::string& key = it->first.Scalar();
        if (key.size() > 11 && key.ends_with("_sd_configs")) {
          r.Unsupported(key, "list targets in static_configs");
        }
      }
    }
    if (Status s = r.Finish(); !s.ok()) return s;

    if (sc.scrape_interval <= core::Duration()) {
      return r.Get("scrape_interval")->Error("must be greater than 0s");
    }
    if (!timeout_set && sc.scrape_timeout > sc.scrape_interval) {
      sc.scrape_timeout = sc.scrape_interval;
    }
    if (sc.scrape_timeout > sc.scrape_interval) {
      return r.Get("scrape_timeout")
          ->Error("scrape timeout greater than scrape interval for scrape config with job name " +
                  Quote(sc.job_name));
    }
    const int auth_kinds =
        (has_basic_auth ? 1 : 0) + (authorization ? 1 : 0) + (has_bearer_file ? 1 : 0);
    if (auth_kinds > 1) {
      return node.Error(
          "at most one of basic_auth, authorization and bearer_token_file must be configured");
    }
    return sc;
  }

  Status Demo(const YamlNode& node, DemoConfig* demo) {
    MapReader r(node);
    if (r.Present("platform_exporter")) {
      demo->platform_exporter = true;
      std::optional<YamlNode> pe = r.Get("platform_exporter");
      if (pe && !pe->IsMap()) {
        Result<bool> on = pe->AsBool();
        if (!on.ok()) return pe->Error("expected a mapping (listen_address, period) or true/false");
        demo->platform_exporter = *on;
      } else if (pe) {
        MapReader p(*pe);
        p.String("listen_address", &demo->listen_address);
        p.Duration("period", &demo->period);
        if (Status s = p.Finish(); !s.ok()) return s;
        if (demo->period < core::Duration::Minutes(1)) {
          return p.Get("period")->Error("must be at least 1m");
        }
        if (demo->listen_address.find(':') == std::string::npos) {
          return p.Get("listen_address")
              ->Error("want host:port, got " + Quote(demo->listen_address));
        }
      }
    }
    return r.Finish();
  }

 private:
  Status Params(const YamlNode& node, std::map<std::string, std::vector<std::string>>* out) {
    auto entries = node.Entries();
    if (!entries.ok()) return entries.status();
    for (const auto& [key, value] : *entries) {
      auto elems = value.Elements();
      if (!elems.ok()) return elems.status();
      std::vector<std::string>& values = (*out)[key.raw().Scalar()];
      for (const YamlNode& e : *elems) {
        Result<std::string> v = e.AsString();
        if (!v.ok()) return v.status();
        values.push_back(std::move(*v));
      }
    }
    return Status();
  }

  Status BasicAuth(const YamlNode& node, sources::ScrapeConfig* sc) {
    MapReader r(node);
    r.String("username", &sc->basic_auth_username);
    r.String("password_file", &sc->basic_auth_password_file);
    r.Unsupported("password", "use password_file");
    r.Unsupported("username_file");
    sc->basic_auth_password_file = Resolve(dir_, sc->basic_auth_password_file);
    return r.Finish();
  }

  Status Authorization(const YamlNode& node, sources::ScrapeConfig* sc) {
    MapReader r(node);
    std::string type = "Bearer";
    r.String("type", &type);
    if (r.ok() && type != "Bearer") {
      r.Fail(r.Get("type")->Error("only type Bearer is supported yet, got " + Quote(type)));
    }
    r.String("credentials_file", &sc->bearer_token_file);
    r.Unsupported("credentials", "use credentials_file");
    sc->bearer_token_file = Resolve(dir_, sc->bearer_token_file);
    return r.Finish();
  }

  Status Tls(const YamlNode& node, sources::ScrapeConfig* sc) {
    MapReader r(node);
    r.String("ca_file", &sc->tls_ca_file);
    r.Bool("insecure_skip_verify", &sc->tls_insecure_skip_verify);
    for (const char* key : {"cert_file", "key_file", "ca", "cert", "key", "server_name",
                            "min_version", "max_version"}) {
      r.Unsupported(key);
    }
    sc->tls_ca_file = Resolve(dir_, sc->tls_ca_file);
    return r.Finish();
  }

  Status StaticConfigs(const YamlNode& node, sources::ScrapeConfig* sc) {
    auto groups = node.Elements();
    if (!groups.ok()) return groups.status();
    for (const YamlNode& group : *groups) {
      sources::ScrapeConfig::StaticConfig out;
      MapReader r(group);
      if (auto targets = r.Get("targets")) {
        auto elems = targets->Elements();
        if (!elems.ok()) return elems.status();
        for (const YamlNode& t : *elems) {
          Result<std::string> target = t.AsString();
          if (!target.ok()) return target.status();
          if (target->empty()) return t.Error("target must not be empty");
          if (target->find('/') != std::string::npos) {
            return t.Error(Quote(*target) + " is not a valid hostname");
          }
          out.targets.push_back(std::move(*target));
        }
      }
      if (auto labels = r.Get("labels")) {
        Result<std::map<std::string, std::string>> l = ReadLabels(*labels);
        if (!l.ok()) return l.status();
        out.labels = std::move(*l);
      }
      if (Status s = r.Finish(); !s.ok()) return s;
      sc->static_configs.push_back(std::move(out));
    }
    return Status();
  }

  std::string dir_;
};

}  // namespace

Result<Config> LoadConfig(std::string_view yaml, const std::string& file) {
  Result<YamlNode> root = YamlNode::Parse(yaml, file);
  if (!root.ok()) return root.status();
  Config cfg;
  cfg.file = file;
  cfg.redacted_yaml = RedactSecrets(yaml);
  Loader loader(std::filesystem::path(file).parent_path().string());
  MapReader top(*root);
  if (auto global = top.Get("global")) top.Fail(loader.Global(*global, &cfg.global));
  std::map<std::string, YamlNode> jobs;
  if (auto scrapes = top.Get("scrape_configs"); scrapes && top.ok()) {
    auto elems = scrapes->Elements();
    if (!elems.ok()) return elems.status();
    for (const YamlNode& e : *elems) {
      Result<sources::ScrapeConfig> sc = loader.Scrape(e, cfg.global);
      if (!sc.ok()) return sc.status();
      const YamlNode name_node = *MapReader(e).Get("job_name");
      if (jobs.count(sc->job_name) != 0) {
        return name_node.Error("found multiple scrape configs with job name " +
                               Quote(sc->job_name));
      }
      jobs.emplace(sc->job_name, name_node);
      cfg.scrape_configs.push_back(std::move(*sc));
    }
  }
  for (const char* later :
       {"rule_files", "scale_targets", "remote_datasources", "alerting", "webhooks", "state"}) {
    top.Unsupported(later);
  }
  if (top.Present("demo")) {
    if (auto demo = top.Get("demo")) top.Fail(loader.Demo(*demo, &cfg.demo));
  }
  if (Status s = top.Finish(); !s.ok()) return s;
  return cfg;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read the config file");
  std::ostringstream text;
  text << in.rdbuf();
  return LoadConfig(text.str(), path);
}

std::string RedactSecrets(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    Redact(root);
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception&) {
    return "";  // not YAML: nothing was loaded from it either
  }
}

core::Duration StoreRetention(const Config&) {
  // TODO(app): add the longest rule window once rule files load (rules/).
  const core::Duration lookback = core::Duration::Minutes(5);
  const core::Duration longest_window;
  return std::max(core::Duration::Minutes(15), lookback + longest_window);
}

}  // namespace amas::app
