// Rule-file loading: YAML → RuleSet, with Prometheus's rulefmt checks plus
// the amas scale-rule fields.
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "rules/rules.h"
#include "promql/go_strconv.h"
#include "rules/yaml_reader.h"

namespace amas::rules {
namespace {

using core::Result;
using core::Status;

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// scale_up: {above: X | below: X, for: D, keep_firing_for: D}
Result<Threshold> ReadThreshold(const YamlNode& node) {
  MapReader m(node);
  Threshold t;
  std::optional<double> above, below;
  m.Double("above", &above);
  m.Double("below", &below);
  m.Duration("for", &t.hold);
  m.Duration("keep_firing_for", &t.keep_firing_for);
  if (Status s = m.Finish(); !s.ok()) return s;
  if (above.has_value() == below.has_value()) {
    return node.Error("exactly one of \"above\" or \"below\" must be set");
  }
  t.op = above ? Threshold::Op::kAbove : Threshold::Op::kBelow;
  t.value = above ? *above : *below;
  if (!std::isfinite(t.value)) return node.Error("threshold must be a finite number");
  if (t.hold < core::Duration() || t.keep_firing_for < core::Duration()) {
    return node.Error("durations must not be negative");
  }
  return t;
}

// step: {type: Pods|Percent, value: N}
Result<Step> ReadStep(const YamlNode& node) {
  MapReader m(node);
  std::string type;
  int64_t value = 0;
  m.String("type", &type, true);
  m.Int("value", &value, true);
  if (Status s = m.Finish(); !s.ok()) return s;
  Step step;
  if (type == "Pods") {
    step.type = Step::Type::kPods;
  } else if (type == "Percent") {
    step.type = Step::Type::kPercent;
  } else {
    return node.Error("step type must be \"Pods\" or \"Percent\", got " + Quote(type));
  }
  if (value <= 0 || value > 1'000'000) return node.Error("step value must be a positive integer");
  step.value = static_cast<int32_t>(value);
  return step;
}

// on_missing: block_scale_down | hold | ignore | {scale_to: N}
Result<OnMissing> ReadOnMissing(const YamlNode& node) {
  OnMissing out;
  if (node.IsMap()) {
    MapReader m(node);
    int64_t n = -1;
    m.Int("scale_to", &n, true);
    if (Status s = m.Finish(); !s.ok()) return s;
    if (n < 0 || n > 1'000'000) return node.Error("scale_to must be a count >= 0");
    out.kind = OnMissing::Kind::kScaleTo;
    out.scale_to = static_cast<int32_t>(n);
    return out;
  }
  Result<std::string> s = node.AsString();
  if (!s.ok()) return s.status();
  if (*s == "block_scale_down") {
    out.kind = OnMissing::Kind::kBlockScaleDown;
  } else if (*s == "hold") {
    out.kind = OnMissing::Kind::kHold;
  } else if (*s == "ignore") {
    out.kind = OnMissing::Kind::kIgnore;
  } else {
    return node.Error("on_missing must be block_scale_down, hold, ignore or {scale_to: N}, got " +
                      Quote(*s));
  }
  return out;
}

Status CheckLabels(const YamlNode& at, const LabelPairs& labels, std::string_view what) {
  for (const auto& [name, value] : labels) {
    if (!IsLabelName(name)) return at.Error("invalid " + std::string(what) + " name " + Quote(name));
    if (name == core::kMetricName) {
      return at.Error("the " + std::string(what) + " name \"__name__\" is reserved");
    }
  }
  return Status();
}

Status CompileTemplates(const YamlNode& at, const LabelPairs& pairs, std::string_view what,
                        std::vector<Template>* out) {
  for (const auto& [name, text] : pairs) {
    Result<Template> t = Template::Compile(text);
    if (!t.ok()) {
      return at.Error(std::string(what) + " " + Quote(name) + ": " + t.status().message());
    }
    out->push_back(std::move(*t));
  }
  return Status();
}

Result<Rule> ReadRule(const YamlNode& node, const std::string& file, bool local,
                      const LoadOptions& options) {
  MapReader m(node);
  Rule r;
  r.file = file;
  r.line = node.line();
  const bool is_alert = m.Has("alert");
  const bool is_record = m.Has("record");
  const bool is_scale = m.Has("target") || m.Has("scale_up") || m.Has("scale_down") ||
                        m.Has("target_value") || m.Has("target_average_value");
  if (is_alert + is_record + is_scale == 0) {
    return node.Error(
        "one of \"alert\", \"record\" or a scale rule (\"name\" and \"target\") must be set");
  }
  if (is_alert + is_record + is_scale > 1) {
    return node.Error("only one of \"alert\", \"record\" or a scale rule may be set");
  }
  m.String("expr", &r.expr_text, true);
  if (is_alert) {
    r.kind = Rule::Kind::kAlert;
    m.String("alert", &r.name, true);
    m.Duration("for", &r.hold);
    m.Duration("keep_firing_for", &r.keep_firing_for);
    m.StringMap("labels", &r.labels);
    m.StringMap("annotations", &r.annotations);
  } else if (is_record) {
    r.kind = Rule::Kind::kRecord;
    m.String("record", &r.name, true);
    m.StringMap("labels", &r.labels);
  } else {
    r.kind = Rule::Kind::kScale;
    m.String("name", &r.name, true);
    m.String("target", &r.target, true);
    if (auto n = m.Get("scale_up")) {
      Result<Threshold> t = ReadThreshold(*n);
      if (!t.ok()) return t.status();
      r.scale_up = *t;
    }
    if (auto n = m.Get("scale_down")) {
      Result<Threshold> t = ReadThreshold(*n);
      if (!t.ok()) return t.status();
      r.scale_down = *t;
    }
    if (auto n = m.Get("step")) {
      Result<Step> s = ReadStep(*n);
      if (!s.ok()) return s.status();
      r.step = *s;
    }
    if (auto n = m.Get("on_missing")) {
      Result<OnMissing> o = ReadOnMissing(*n);
      if (!o.ok()) return o.status();
      r.on_missing = *o;
    }
    m.Double("target_value", &r.target_value);
    m.Double("target_average_value", &r.target_average_value);
  }
  if (Status s = m.Finish(); !s.ok()) return s;

  if (r.name.empty()) return node.Error("rule name must not be empty");
  if (r.expr_text.empty()) return node.Error("field \"expr\" must be set in rule");
  if (r.kind == Rule::Kind::kRecord && !IsMetricName(r.name)) {
    return node.Error("invalid recording rule name: " + r.name);
  }
  if (r.hold < core::Duration() || r.keep_firing_for < core::Duration()) {
    return node.Error("durations must not be negative");
  }
  if (Status s = CheckLabels(node, r.labels, "label"); !s.ok()) return s;
  if (Status s = CheckLabels(node, r.annotations, "annotation"); !s.ok()) return s;
  if (r.kind == Rule::Kind::kAlert) {
    if (Status s = CompileTemplates(node, r.labels, "label", &r.label_templates); !s.ok()) return s;
    if (Status s = CompileTemplates(node, r.annotations, "annotation", &r.annotation_templates);
        !s.ok()) {
      return s;
    }
  }
  if (r.kind == Rule::Kind::kScale) {
    const bool threshold = r.scale_up || r.scale_down;
    const bool proportional = r.target_value || r.target_average_value;
    if (!threshold && !proportional) {
      return node.Error(
          "a scale rule needs scale_up/scale_down thresholds or target_value/"
          "target_average_value");
    }
    if (threshold && proportional) {
      return node.Error("thresholds and target_value/target_average_value cannot be combined");
    }
    if (r.target_value && r.target_average_value) {
      return node.Error("only one of target_value and target_average_value may be set");
    }
    for (const std::optional<double>* v : {&r.target_value, &r.target_average_value}) {
      if (*v && !(**v > 0 && std::isfinite(**v))) {
        return node.Error("target_value and target_average_value must be positive numbers");
      }
    }
    if (r.step && proportional) return node.Error("step only applies to threshold rules");
    if (r.scale_up && r.scale_down && r.scale_up->op != r.scale_down->op) {
      // above X up / below Y down (or the mirror): the bands must leave a dead band.
      const bool overlap = r.scale_up->op == Threshold::Op::kAbove
                               ? r.scale_down->value >= r.scale_up->value
                               : r.scale_down->value <= r.scale_up->value;
      if (overlap) {
        return node.Error("scale_up and scale_down thresholds overlap (" +
                          promql::FormatFloatG(r.scale_up->value) + " vs " +
                          promql::FormatFloatG(r.scale_down->value) +
                          "): leave a dead band between them");
      }
    } else if (r.scale_up && r.scale_down) {
      return node.Error(
          "scale_up and scale_down use the same comparison; one must be above and the other "
          "below");
    }
  }
  if (local || options.parse_remote_expressions) {
    Result<promql::ExprPtr> e = promql::Parse(r.expr_text);
    if (!e.ok()) {
      return node.Error("could not parse expression: " + e.status().message());
    }
    r.expr = std::move(*e);
  }
  return r;
}

Result<Group> ReadGroup(const YamlNode& node, const std::string& file,
                        const LoadOptions& options) {
  MapReader m(node);
  Group g;
  g.file = file;
  m.String("name", &g.name, true);
  m.Duration("interval", &g.interval);
  m.String("datasource", &g.datasource);
  m.Int("limit", &g.limit);
  std::optional<YamlNode> rules = m.Get("rules");
  if (Status s = m.Finish(); !s.ok()) return s;
  if (g.name.empty()) return node.Error("group name must not be empty");
  if (g.interval < core::Duration()) return node.Error("interval must not be negative");
  if (g.limit < 0) return node.Error("limit must not be negative");
  if (!rules) return g;
  Result<std::vector<YamlNode>> elems = rules->Elements();
  if (!elems.ok()) return elems.status();
  std::set<std::string> scale_names;
  for (const YamlNode& e : *elems) {
    Result<Rule> r = ReadRule(e, file, g.datasource.empty(), options);
    if (!r.ok()) return r.status();
    if (r->kind == Rule::Kind::kScale && !scale_names.insert(r->target + "/" + r->name).second) {
      return e.Error("scale rule " + Quote(r->name) + " for target " + Quote(r->target) +
                     " is repeated in group " + Quote(g.name));
    }
    g.rules.push_back(std::move(*r));
  }
  return g;
}

}  // namespace

Result<RuleSet> ParseRuleFile(std::string_view content, const std::string& file,
                              const LoadOptions& options) {
  Result<YamlNode> root = YamlNode::Parse(content, file);
  if (!root.ok()) return root.status();
  RuleSet set;
  if (root->IsNull()) return set;
  MapReader m(*root);
  std::optional<YamlNode> groups = m.Get("groups");
  if (Status s = m.Finish(); !s.ok()) return s;
  if (!groups) return set;
  Result<std::vector<YamlNode>> elems = groups->Elements();
  if (!elems.ok()) return elems.status();
  std::set<std::string> names;
  for (const YamlNode& e : *elems) {
    Result<Group> g = ReadGroup(e, file, options);
    if (!g.ok()) return g.status();
    if (!names.insert(g->name).second) {
      return e.Error("groupname: " + Quote(g->name) + " is repeated in the same file");
    }
    set.groups.push_back(std::move(*g));
  }
  return set;
}

Result<RuleSet> LoadFile(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open rule file");
  std::ostringstream content;
  content << in.rdbuf();
  return ParseRuleFile(content.str(), path, options);
}

Result<RuleSet> LoadFiles(const std::vector<std::string>& paths, const LoadOptions& options) {
  RuleSet all;
  for (const std::string& p : paths) {
    Result<RuleSet> one = LoadFile(p, options);
    if (!one.ok()) return one.status();
    for (Group& g : one->groups) all.groups.push_back(std::move(g));
  }
  return all;
}

}  // namespace amas::rules
