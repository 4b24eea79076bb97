#include "app/scale_config.h"
#include "promql/go_strconv.h"

#include <cmath>
#include <set>

#include "rules/template.h"

namespace amas::app {
namespace {

using core::Result;
using core::Status;
using rules::MapReader;
using rules::YamlNode;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// decide/ words its errors "field: message"; the node already names the field.
std::string WithoutField(std::string_view message, std::string_view field) {
  const std::string prefix = std::string(field) + ": ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

// A tolerance is a finite number >= 0; NaN would make every ratio "outside".
core::Status CheckTolerance(const YamlNode& at, double t) {
  if (t >= 0 && std::isfinite(t)) return Status();
  return at.Error("must be a finite number >= 0, got " + promql::FormatFloatG(t));
}

Result<int32_t> Int32(const YamlNode& n, int64_t lo, int64_t hi) {
  Result<int64_t> v = n.AsInt();
  if (!v.ok()) return v.status();
  if (*v < lo || *v > hi) {
    return n.Error("must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                   std::to_string(*v));
  }
  return static_cast<int32_t>(*v);
}

// Reads an int32 field with bounds into *out when present.
void Int32Field(MapReader& m, std::string_view key, int64_t lo, int64_t hi, int32_t* out) {
  if (auto n = m.Get(key)) {
    Result<int32_t> v = Int32(*n, lo, hi);
    if (!v.ok()) return m.Fail(v.status());
    *out = *v;
  }
}

// One direction of spec.behavior, in autoscaling/v2's field names.
Result<decide::ScalingRules> ReadScalingRules(const YamlNode& node) {
  MapReader m(node);
  decide::ScalingRules r;
  if (auto n = m.Get("stabilizationWindowSeconds")) {
    Result<int32_t> v = Int32(*n, 0, 3600);
    if (!v.ok()) return v.status();
    r.stabilization_window_seconds = *v;
  }
  if (auto n = m.Get("selectPolicy")) {
    Result<std::string> s = n->AsString();
    if (!s.ok()) return s.status();
    Result<decide::SelectPolicy> p = decide::ParseSelectPolicy(*s);
    if (!p.ok()) return n->Error(WithoutField(p.status().message(), "selectPolicy"));
    r.select_policy = *p;
  }
  if (auto n = m.Get("tolerance")) {
    Result<double> t = n->AsDouble();
    if (!t.ok()) return t.status();
    if (Status st = CheckTolerance(*n, *t); !st.ok()) return st;
    r.tolerance = *t;
  }
  if (auto n = m.Get("policies")) {
    Result<std::vector<YamlNode>> elems = n->Elements();
    if (!elems.ok()) return elems.status();
    if (elems->empty()) return n->Error("must have at least one policy");
    std::vector<decide::ScalingPolicy> policies;
    for (const YamlNode& e : *elems) {
      MapReader pm(e);
      std::string type;
      decide::ScalingPolicy p;
      pm.String("type", &type, true);
      if (auto v = pm.Get("value")) {
        Result<int32_t> x = Int32(*v, 1, 1'000'000);
        if (!x.ok()) return x.status();
        p.value = *x;
      } else {
        pm.Fail(e.Error("missing required field \"value\""));
      }
      if (auto v = pm.Get("periodSeconds")) {
        Result<int32_t> x = Int32(*v, 1, 1800);
        if (!x.ok()) return x.status();
        p.period_seconds = *x;
      } else {
        pm.Fail(e.Error("missing required field \"periodSeconds\""));
      }
      const std::optional<YamlNode> type_node = pm.Get("type");
      if (Status s = pm.Finish(); !s.ok()) return s;
      Result<decide::PolicyType> t = decide::ParsePolicyType(type);
      if (!t.ok()) {
        return (type_node ? *type_node : e).Error(WithoutField(t.status().message(), "type"));
      }
      p.type = *t;
      policies.push_back(p);
    }
    r.policies = std::move(policies);
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  return r;
}

Result<decide::Behavior> ReadBehavior(const YamlNode& node) {
  MapReader m(node);
  decide::Behavior b;
  if (auto n = m.Get("scaleUp")) {
    Result<decide::ScalingRules> r = ReadScalingRules(*n);
    if (!r.ok()) return r.status();
    b.scale_up = *r;
  }
  if (auto n = m.Get("scaleDown")) {
    Result<decide::ScalingRules> r = ReadScalingRules(*n);
    if (!r.ok()) return r.status();
    b.scale_down = *r;
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  return b;
}

Status ReadArgv(MapReader& m, std::string_view key, std::vector<std::string>* out,
                bool required) {
  std::optional<YamlNode> n = m.Get(key);
  if (!n) {
    return required ? m.node().Error("missing required field " + Quote(key)) : Status();
  }
  m.StringList(key, out);
  if (!m.ok()) return Status();  // MapReader keeps the error for Finish()
  if (out->empty() || (*out)[0].empty() || (*out)[0][0] != '/') {
    return n->Error("must be a list whose first element is an absolute program path");
  }
  return Status();
}

Result<ActuatorConfig> ReadActuator(const YamlNode& node) {
  MapReader m(node);
  ActuatorConfig a;
  std::string kind;
  m.String("kind", &kind, true);
  if (!m.ok()) return m.Finish();
  if (kind == "dry_run") {
    a.kind = ActuatorConfig::Kind::kDryRun;
    Int32Field(m, "initial_replicas", 0, 1'000'000, &a.initial_replicas);
  } else if (kind == "kubernetes") {
    a.kind = ActuatorConfig::Kind::kKubernetes;
    m.String("api_version", &a.api_version);
    m.String("resource", &a.resource);
    m.String("namespace", &a.namespace_name);
    m.String("name", &a.name, true);
    m.String("kubeconfig", &a.kubeconfig);
    m.Double("qps", &a.qps);
    int64_t burst = a.burst;
    m.Int("burst", &burst);
    a.burst = static_cast<int>(burst);
    if (m.ok() && (a.qps <= 0 || a.burst < 1)) m.Fail(node.Error("qps must be > 0 and burst >= 1"));
  } else if (kind == "celery") {
    a.kind = ActuatorConfig::Kind::kCelery;
    m.String("broker_url", &a.broker_url, true);
    m.StringList("workers", &a.workers);
    m.Duration("reply_timeout", &a.reply_timeout);
  } else if (kind == "redis_cluster") {
    a.kind = ActuatorConfig::Kind::kRedisCluster;
    m.StringList("nodes", &a.seed_nodes);
    m.StringList("standby", &a.standby_nodes);
    Int32Field(m, "replicas_per_master", 0, 16, &a.replicas_per_master);
    if (m.ok() && a.seed_nodes.empty()) m.Fail(node.Error("redis_cluster needs \"nodes\""));
  } else if (kind == "exec") {
    a.kind = ActuatorConfig::Kind::kExec;
    if (Status s = ReadArgv(m, "current", &a.current_command, true); !s.ok()) m.Fail(s);
    if (Status s = ReadArgv(m, "apply", &a.apply_command, true); !s.ok()) m.Fail(s);
    m.Duration("timeout", &a.timeout);
    m.StringList("env_allow", &a.env_allow);
  } else {
    return m.Get("kind")->Error("must be one of dry_run, kubernetes, celery, redis_cluster, "
                                "exec, got " + Quote(kind));
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  return a;
}

Result<ScaleTargetConfig> ReadScaleTarget(const YamlNode& node) {
  MapReader m(node);
  ScaleTargetConfig c;
  decide::Target& t = c.target;
  m.String("name", &t.name, true);
  Int32Field(m, "min_replicas", 0, 1'000'000, &t.min_replicas);
  if (!m.Has("max_replicas")) m.Fail(node.Error("missing required field \"max_replicas\""));
  Int32Field(m, "max_replicas", 1, 1'000'000, &t.max_replicas);
  m.Bool("scale_to_zero", &t.scale_to_zero);
  m.Bool("paused", &t.paused);
  m.Bool("paused_scale_up", &t.paused_scale_up);
  m.Bool("paused_scale_down", &t.paused_scale_down);
  m.Duration("cooldown", &t.cooldown);
  m.String("current", &c.current_expr);
  m.String("ready_when", &c.ready_when);
  Int32Field(m, "max_step", 0, 1'000'000, &c.max_step);
  m.Bool("dry_run", &c.dry_run);
  if (auto n = m.Get("tolerance")) {
    // One number for both directions, or {scale_up, scale_down}.
    if (n->IsMap()) {
      MapReader tm(*n);
      for (auto [key, out] : {std::pair{"scale_up", &t.flags.tolerance.scale_up},
                              std::pair{"scale_down", &t.flags.tolerance.scale_down}}) {
        tm.Double(key, out);
        if (auto v = tm.Get(key); v && tm.ok()) tm.Fail(CheckTolerance(*v, *out));
      }
      if (Status s = tm.Finish(); !s.ok()) m.Fail(s);
    } else {
      Result<double> v = n->AsDouble();
      if (!v.ok()) {
        m.Fail(v.status());
      } else if (Status s = CheckTolerance(*n, *v); !s.ok()) {
        m.Fail(s);
      } else {
        t.flags.tolerance.scale_up = t.flags.tolerance.scale_down = *v;
      }
    }
  }
  if (auto n = m.Get("downscale_stabilization")) {
    Result<core::Duration> d = n->AsDuration();
    if (!d.ok()) {
      m.Fail(d.status());
    } else if (d->millis() % 1000 != 0 || d->millis() > 3'600'000) {
      m.Fail(n->Error("must be whole seconds, at most 1h"));
    } else {
      t.flags.downscale_stabilization_window_seconds = static_cast<int32_t>(d->millis() / 1000);
    }
  }
  if (auto n = m.Get("drift")) {
    Result<std::string> s = n->AsString();
    if (!s.ok()) {
      m.Fail(s.status());
    } else if (*s == "report") {
      c.drift = act::DriftPolicy::kReport;
    } else if (*s == "reapply") {
      c.drift = act::DriftPolicy::kReapply;
    } else {
      m.Fail(n->Error("drift must be \"report\" or \"reapply\", got " + Quote(*s)));
    }
  }
  if (auto n = m.Get("behavior")) {
    Result<decide::Behavior> b = ReadBehavior(*n);
    if (!b.ok()) {
      m.Fail(b.status());
    } else {
      t.behavior = *b;
    }
  }
  if (auto n = m.Get("actuator")) {
    Result<ActuatorConfig> a = ReadActuator(*n);
    if (!a.ok()) {
      m.Fail(a.status());
    } else {
      c.actuator = *a;
    }
  } else {
    m.Fail(node.Error("missing required field \"actuator\""));
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  if (Status s = decide::ValidateTarget(t); !s.ok()) {
    // "max_replicas: must be ..." points at max_replicas (or tolerance.scale_up).
    const std::string message(s.message());
    const std::string field = message.substr(0, message.find(": "));
    MapReader again(node);
    std::optional<YamlNode> at = again.Get(field.substr(0, field.find('.')));
    if (at && field.find('.') != std::string::npos && at->IsMap()) {
      if (auto sub = MapReader(*at).Get(field.substr(field.find('.') + 1))) at = sub;
    }
    return at ? at->Error(WithoutField(message, field)) : node.Error(message);
  }
  if (c.actuator.kind == ActuatorConfig::Kind::kDryRun &&
      (c.actuator.initial_replicas < t.min_replicas ||
       c.actuator.initial_replicas > t.max_replicas)) {
    c.actuator.initial_replicas = std::clamp(c.actuator.initial_replicas, t.min_replicas,
                                             t.max_replicas);
  }
  return c;
}

}  // namespace

Result<std::vector<ScaleTargetConfig>> ReadScaleTargets(const YamlNode& node) {
  std::vector<ScaleTargetConfig> out;
  Result<std::vector<YamlNode>> elems = node.Elements();
  if (!elems.ok()) return elems.status();
  std::set<std::string> names;
  for (const YamlNode& e : *elems) {
    Result<ScaleTargetConfig> c = ReadScaleTarget(e);
    if (!c.ok()) return c.status();
    if (!names.insert(c->target.name).second) {
      return e.Error("scale target " + Quote(c->target.name) + " is defined twice");
    }
    out.push_back(std::move(*c));
  }
  return out;
}

decide::Verdict VerdictFromVote(const rules::Rule& rule, const rules::ScaleVote& vote) {
  decide::Verdict v;
  v.rule = rule.name;
  if (vote.kind != rules::ScaleVote::Kind::kNoData) v.value = vote.value;
  switch (vote.kind) {
    case rules::ScaleVote::Kind::kUp:
      v.vote = decide::Vote::kUp;
      break;
    case rules::ScaleVote::Kind::kDown:
      v.vote = decide::Vote::kDown;
      break;
    default:
      v.vote = decide::Vote::kHold;
      break;
  }
  if (rule.step) {
    v.step =
        decide::Step{rule.step->type == rules::Step::Type::kPods ? decide::PolicyType::kPods
                                                                 : decide::PolicyType::kPercent,
                     rule.step->value};
  }
  v.target_value = rule.target_value;
  v.target_average_value = rule.target_average_value;
  switch (rule.on_missing.kind) {
    case rules::OnMissing::Kind::kBlockScaleDown:
      v.on_missing = decide::OnMissing::kBlockScaleDown;
      break;
    case rules::OnMissing::Kind::kHold:
      v.on_missing = decide::OnMissing::kHold;
      break;
    case rules::OnMissing::Kind::kScaleTo:
      v.on_missing = decide::OnMissing::kScaleTo;
      break;
    case rules::OnMissing::Kind::kIgnore:
      v.on_missing = decide::OnMissing::kIgnore;
      break;
  }
  v.scale_to = rule.on_missing.scale_to;
  return v;
}

}  // namespace amas::app
