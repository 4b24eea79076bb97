#include "app/config.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "promql/ast.h"
#include "rules/yaml_reader.h"

namespace amas::app {
namespace {

using core::Result;
using core::Status;
using rules::MapReader;
using rules::YamlNode;

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
    r.Bool("normalize_bucket_labels", &sc.normalize_bucket_labels);
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

// Reads a secret file's content (trailing newline trimmed), naming the field.
Result<std::string> ReadSecret(const YamlNode& at, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return at.Error("cannot read " + Quote(path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string v = text.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

// The longest time range an expression reads back from its evaluation time.
int64_t LookbackMs(const promql::Expr& e) {
  int64_t longest = 0;
  auto sub = [&](const promql::ExprPtr& p) {
    if (p) longest = std::max(longest, LookbackMs(*p));
  };
  if (const auto* m = e.as<promql::MatrixSelector>()) {
    longest = m->range_ms + std::max<int64_t>(0, m->selector.offset_ms);
  } else if (const auto* v = e.as<promql::VectorSelector>()) {
    longest = std::max<int64_t>(0, v->offset_ms);
  } else if (const auto* q = e.as<promql::SubqueryExpr>()) {
    longest = q->range_ms + std::max<int64_t>(0, q->offset_ms) + LookbackMs(*q->expr);
  } else if (const auto* c = e.as<promql::Call>()) {
    for (const auto& a : c->args) sub(a);
  } else if (const auto* a = e.as<promql::AggregateExpr>()) {
    sub(a->expr);
    sub(a->param);
  } else if (const auto* b = e.as<promql::BinaryExpr>()) {
    sub(b->lhs);
    sub(b->rhs);
  } else if (const auto* u = e.as<promql::UnaryExpr>()) {
    sub(u->expr);
  } else if (const auto* p = e.as<promql::ParenExpr>()) {
    sub(p->expr);
  }
  return longest;
}

Status ReadAlerting(const YamlNode& node, AlertingConfig* out) {
  MapReader r(node);
  r.Duration("resend_delay", &out->resend_delay);
  r.Bool("send_recommendations", &out->send_recommendations);
  if (auto ams = r.Get("alertmanagers")) {
    auto elems = ams->Elements();
    if (!elems.ok()) return elems.status();
    for (const YamlNode& e : *elems) {
      MapReader a(e);
      std::string scheme = "http", prefix;
      a.String("scheme", &scheme);
      a.String("path_prefix", &prefix);
      if (a.ok() && scheme != "http" && scheme != "https") {
        a.Fail(a.Get("scheme")->Error("must be http or https, got " + Quote(scheme)));
      }
      if (auto statics = a.Get("static_configs")) {
        auto groups = statics->Elements();
        if (!groups.ok()) return groups.status();
        for (const YamlNode& g : *groups) {
          MapReader gr(g);
          std::vector<std::string> targets;
          gr.StringList("targets", &targets);
          if (Status s = gr.Finish(); !s.ok()) return s;
          for (const std::string& t : targets)
            out->alertmanagers.push_back(scheme + "://" + t + prefix);
        }
      }
      if (Status s = a.Finish(); !s.ok()) return s;
    }
  }
  return r.Finish();
}

Status ReadWebhooks(const YamlNode& node, const std::string& dir,
                    std::vector<publish::WebhookEndpoint>* out) {
  auto elems = node.Elements();
  if (!elems.ok()) return elems.status();
  std::set<std::string> names;
  for (const YamlNode& e : *elems) {
    MapReader r(e);
    publish::WebhookEndpoint w;
    r.String("name", &w.name, true);
    r.String("url", &w.url, true);
    std::string secret_file, dead_letter_file, ca_file;
    r.String("secret_file", &secret_file);
    r.Duration("timeout", &w.timeout);
    int64_t attempts = w.max_attempts, queue = static_cast<int64_t>(w.max_queue);
    r.Int("max_attempts", &attempts);
    r.Int("max_queue", &queue);
    r.StringList("events", &w.kinds);
    r.StringList("targets", &w.targets);
    r.String("dead_letter_file", &dead_letter_file);
    if (auto tls = r.Get("tls_config")) {
      MapReader t(*tls);
      t.String("ca_file", &ca_file);
      if (Status s = t.Finish(); !s.ok()) return s;
    }
    if (Status s = r.Finish(); !s.ok()) return s;
    if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) {
      return r.Get("url")->Error("must start with http:// or https://, got " + Quote(w.url));
    }
    if (attempts < 1 || attempts > 100) {
      return r.Get("max_attempts")->Error("must be in [1, 100], got " + std::to_string(attempts));
    }
    if (queue < 1) return r.Get("max_queue")->Error("must be >= 1, got " + std::to_string(queue));
    for (const std::string& k : w.kinds) {
      if (k != "recommendation" && k != "action_started" && k != "action_succeeded" &&
          k != "action_failed") {
        return r.Get("events")->Error(
            "unknown event " + Quote(k) +
            " (recommendation, action_started, action_succeeded, action_failed)");
      }
    }
    if (!names.insert(w.name).second)
      return e.Error("webhook " + Quote(w.name) + " is defined twice");
    w.max_attempts = static_cast<int>(attempts);
    w.max_queue = static_cast<size_t>(queue);
    if (!secret_file.empty()) {
      Result<std::string> secret = ReadSecret(*r.Get("secret_file"), Resolve(dir, secret_file));
      if (!secret.ok()) return secret.status();
      w.secret = std::move(*secret);
    }
    if (!dead_letter_file.empty()) w.dead_letter_path = Resolve(dir, dead_letter_file);
    if (!ca_file.empty()) w.tls_ca_file = Resolve(dir, ca_file);
    out->push_back(std::move(w));
  }
  return Status();
}

Status ReadReceiver(const YamlNode& node, const std::string& dir, ReceiverConfig* out) {
  MapReader r(node);
  std::string token_file;
  r.String("bearer_token_file", &token_file);
  r.Bytes("max_body_size", &out->max_body_bytes);
  std::string password_file;
  if (auto basic = r.Get("basic_auth")) {
    MapReader b(*basic);
    b.String("username", &out->basic_auth_username, true);
    b.String("password_file", &password_file, true);
    if (Status s = b.Finish(); !s.ok()) return s;
  }
  if (Status s = r.Finish(); !s.ok()) return s;
  if (!token_file.empty()) {
    Result<std::string> t = ReadSecret(*r.Get("bearer_token_file"), Resolve(dir, token_file));
    if (!t.ok()) return t.status();
    out->bearer_token = std::move(*t);
  }
  if (!password_file.empty()) {
    const YamlNode at = *MapReader(*r.Get("basic_auth")).Get("password_file");
    Result<std::string> p = ReadSecret(at, Resolve(dir, password_file));
    if (!p.ok()) return p.status();
    out->basic_auth_password = std::move(*p);
  }
  if (out->max_body_bytes <= 0) return r.Get("max_body_size")->Error("must be > 0");
  return Status();
}

Status ReadState(const YamlNode& node, const std::string& dir, StateConfig* out) {
  MapReader r(node);
  r.Duration("outage_tolerance", &out->outage_tolerance);
  if (auto redis = r.Get("redis")) {
    MapReader m(*redis);
    std::string password_file;
    m.String("address", &out->redis_address, true);
    m.String("password_file", &password_file);
    m.String("key_prefix", &out->key_prefix);
    if (Status s = m.Finish(); !s.ok()) return s;
    const std::string& address = out->redis_address;
    const size_t colon = address.rfind(':');
    const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
    if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535) {
      return m.Get("address")->Error("must be host:port, got " + Quote(address));
    }
    if (!password_file.empty()) {
      Result<std::string> p = ReadSecret(*m.Get("password_file"), Resolve(dir, password_file));
      if (!p.ok()) return p.status();
      out->redis_password = std::move(*p);
    }
  }
  if (auto lease = r.Get("lease")) {
    MapReader m(*lease);
    m.Duration("duration", &out->lease_duration);
    if (Status s = m.Finish(); !s.ok()) return s;
    if (out->lease_duration < core::Duration::Seconds(1)) {
      return m.Get("duration")->Error("must be at least 1s, got " + out->lease_duration.ToString());
    }
  }
  return r.Finish();
}

Status ReadDatasources(const YamlNode& node, const std::string& dir,
                       std::vector<RemoteDatasource>* out) {
  auto elems = node.Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    MapReader r(e);
    RemoteDatasource d;
    r.String("name", &d.name, true);
    r.String("url", &d.api.url, true);
    r.Duration("timeout", &d.api.timeout);
    int64_t attempts = d.api.max_attempts;
    r.Int("max_attempts", &attempts);
    r.String("bearer_token_file", &d.api.bearer_token_file);
    if (auto basic = r.Get("basic_auth")) {
      MapReader b(*basic);
      b.String("username", &d.api.basic_auth_username, true);
      b.String("password_file", &d.api.basic_auth_password_file, true);
      if (Status s = b.Finish(); !s.ok()) return s;
    }
    if (auto tls = r.Get("tls_config")) {
      MapReader t(*tls);
      t.String("ca_file", &d.api.tls_ca_file);
      t.Bool("insecure_skip_verify", &d.api.tls_insecure_skip_verify);
      if (Status s = t.Finish(); !s.ok()) return s;
    }
    if (Status s = r.Finish(); !s.ok()) return s;
    d.api.max_attempts = static_cast<int>(std::clamp<int64_t>(attempts, 1, 20));
    d.api.bearer_token_file = Resolve(dir, d.api.bearer_token_file);
    d.api.basic_auth_password_file = Resolve(dir, d.api.basic_auth_password_file);
    d.api.tls_ca_file = Resolve(dir, d.api.tls_ca_file);
    if (auto api = sources::PrometheusApi::Create(d.api); !api.ok()) {
      return e.Error(api.status().message());
    }
    for (const RemoteDatasource& other : *out) {
      if (other.name == d.name) return e.Error("datasource " + Quote(d.name) + " is defined twice");
    }
    out->push_back(std::move(d));
  }
  return Status();
}

// rule_files entries are globs relative to the config file, as in Prometheus.
Result<std::vector<std::string>> ExpandRuleFiles(const YamlNode& node, const std::string& dir) {
  std::vector<std::string> out;
  auto elems = node.Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    Result<std::string> pattern = e.AsString();
    if (!pattern.ok()) return pattern.status();
    const std::string full = Resolve(dir, *pattern);
    glob_t g{};
    const int rc = glob(full.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH && full.find_first_of("*?[") == std::string::npos) {
      globfree(&g);
      return e.Error("rule file " + Quote(full) + " does not exist");
    }
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Rule sets keep each rule's file and line, not columns: reread the rule
// file to point at the field itself (group i of the file, rule j, key), as
// every other config error does. Falls back to the coarser status.
Status AtRuleField(const std::string& file, size_t group, std::optional<size_t> rule,
                   std::string_view key, std::string_view message, Status fallback) {
  Result<YamlNode> root = YamlNode::LoadFile(file);
  if (!root.ok()) return fallback;
  auto child = [](const YamlNode& n, std::string_view k) -> std::optional<YamlNode> {
    if (!n.IsMap()) return std::nullopt;
    return MapReader(n).Get(k);
  };
  auto element = [](const std::optional<YamlNode>& n, size_t i) -> std::optional<YamlNode> {
    if (!n || !n->IsSequence()) return std::nullopt;
    Result<std::vector<YamlNode>> elems = n->Elements();
    if (!elems.ok() || i >= elems->size()) return std::nullopt;
    return (*elems)[i];
  };
  std::optional<YamlNode> node = element(child(*root, "groups"), group);
  if (node && rule) node = element(child(*node, "rules"), *rule);
  if (node) node = child(*node, key);
  return node ? node->Error(message) : fallback;
}

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
  const std::string dir = std::filesystem::path(file).parent_path().string();
  if (auto rf = top.Get("rule_files"); rf && top.ok()) {
    Result<std::vector<std::string>> files = ExpandRuleFiles(*rf, dir);
    if (!files.ok()) return files.status();
    cfg.rule_files = std::move(*files);
  }
  if (auto st = top.Get("scale_targets"); st && top.ok()) {
    Result<std::vector<ScaleTargetConfig>> targets = ReadScaleTargets(*st);
    if (!targets.ok()) return targets.status();
    cfg.scale_targets = std::move(*targets);
  }
  if (auto ds = top.Get("remote_datasources"); ds && top.ok()) {
    top.Fail(ReadDatasources(*ds, dir, &cfg.remote_datasources));
  }
  if (auto al = top.Get("alerting"); al && top.ok()) top.Fail(ReadAlerting(*al, &cfg.alerting));
  if (auto wh = top.Get("webhooks"); wh && top.ok())
    top.Fail(ReadWebhooks(*wh, dir, &cfg.webhooks));
  if (auto rc = top.Get("alertmanager_receiver"); rc && top.ok()) {
    top.Fail(ReadReceiver(*rc, dir, &cfg.receiver));
  }
  if (auto state = top.Get("state"); state && top.ok())
    top.Fail(ReadState(*state, dir, &cfg.state));
  top.Bool("dry_run", &cfg.dry_run);
  if (top.Present("demo")) {
    if (auto demo = top.Get("demo")) top.Fail(loader.Demo(*demo, &cfg.demo));
  }
  if (Status s = top.Finish(); !s.ok()) return s;

  // Rules load with the config: `check config` and a reload see their errors.
  Result<rules::RuleSet> rule_set = rules::LoadFiles(cfg.rule_files);
  if (!rule_set.ok()) return rule_set.status();
  cfg.rule_set = std::move(*rule_set);
  std::set<std::string> targets, datasources;
  for (const ScaleTargetConfig& t : cfg.scale_targets) targets.insert(t.target.name);
  for (const RemoteDatasource& d : cfg.remote_datasources) datasources.insert(d.name);
  std::map<std::string, size_t> groups_in_file;
  for (const rules::Group& g : cfg.rule_set.groups) {
    const size_t group_index = groups_in_file[g.file]++;
    if (!g.datasource.empty() && !datasources.contains(g.datasource)) {
      const std::string message = "group " + Quote(g.name) + " uses datasource " +
                                  Quote(g.datasource) +
                                  ", which remote_datasources does not define";
      return AtRuleField(g.file, group_index, std::nullopt, "datasource", message,
                         Status::InvalidArgument(g.file + ": " + message));
    }
    for (size_t i = 0; i < g.rules.size(); ++i) {
      const rules::Rule& r = g.rules[i];
      if (r.kind == rules::Rule::Kind::kScale && !targets.contains(r.target)) {
        const std::string message = "scale rule " + Quote(r.name) + " names scale target " +
                                    Quote(r.target) + ", which scale_targets does not define";
        return AtRuleField(
            r.file, group_index, i, "target", message,
            Status::InvalidArgument(r.file + ":" + std::to_string(r.line) + ": " + message));
      }
    }
  }
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

core::Duration StoreRetention(const Config& config) {
  int64_t longest_ms = 0;
  auto consider = [&](const promql::ExprPtr& e) {
    if (e) longest_ms = std::max(longest_ms, LookbackMs(*e));
  };
  for (const rules::Group& g : config.rule_set.groups) {
    for (const rules::Rule& r : g.rules) consider(r.expr);
  }
  for (const ScaleTargetConfig& t : config.scale_targets) {
    for (const std::string* text : {&t.current_expr, &t.ready_when}) {
      if (text->empty()) continue;
      if (auto e = promql::Parse(*text); e.ok()) consider(*e);
    }
  }
  const core::Duration lookback = core::Duration::Minutes(5);
  return std::max(core::Duration::Minutes(15), lookback + core::Duration::Millis(longest_ms));
}

}  // namespace amas::app
