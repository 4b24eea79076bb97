// ruletest.cpp: the rule unit-test runner, after promtool's cmd/promtool/
// unittest.go (file format, tick loop, alert and expression checks), with
// scale_targets and scale_test added for amas-scaler's scale rules.
#include "app/ruletest.h"
#include "promql/go_strconv.h"

#include <glob.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "app/scale_config.h"
#include "core/core.h"
#include "promql/promql.h"
#include "rules/template.h"
#include "rules/yaml_reader.h"
#include "store/store.h"

namespace amas::app {
namespace {

using core::Duration;
using core::Labels;
using core::Result;
using core::Status;
using core::Time;
using rules::MapReader;
using rules::YamlNode;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- series notation: name{a="b", c='d'} -----------------------------------

bool IsNameChar(char c, bool first, bool colon) {
  return c == '_' || (colon && c == ':') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (!first && c >= '0' && c <= '9');
}

// Reads a PromQL string literal ("...", '...' or `...`) at text[*i].
Result<std::string> ReadQuoted(std::string_view text, size_t* i) {
  const char q = text[*i];
  std::string out;
  for (size_t j = *i + 1; j < text.size(); ++j) {
    const char c = text[j];
    if (c == q) {
      *i = j + 1;
      return out;
    }
    if (c != '\\' || q == '`') {
      out.push_back(c);
      continue;
    }
    if (++j == text.size()) break;
    switch (text[j]) {
      case '\\':
        out.push_back('\\');
        break;
      case '"':
        out.push_back('"');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        return Status::InvalidArgument("unknown escape \\" + std::string(1, text[j]));
    }
  }
  return Status::InvalidArgument("unterminated string");
}

// 'name{a="b"}', 'name', '{a="b"}', '{}' or '' (no labels at all).
Result<Labels> ParseSeriesLabels(std::string_view text) {
  size_t i = 0;
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("series " + Quote(text) + ": " + std::string(why) +
                                   " at column " + std::to_string(i + 1));
  };
  auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  core::LabelsBuilder b;
  std::set<std::string, std::less<>> seen;
  skip();
  const size_t name_start = i;
  while (i < text.size() && IsNameChar(text[i], i == name_start, true)) ++i;
  if (i > name_start) {
    b.Set(core::kMetricName, text.substr(name_start, i - name_start));
    seen.emplace(core::kMetricName);
  }
  skip();
  if (i < text.size() && text[i] == '{') {
    ++i;
    while (true) {
      skip();
      if (i >= text.size()) return bad("missing '}'");
      if (text[i] == '}') {
        ++i;
        break;
      }
      const size_t start = i;
      while (i < text.size() && IsNameChar(text[i], i == start, false)) ++i;
      if (i == start) return bad("expected a label name");
      const std::string name(text.substr(start, i - start));
      skip();
      if (i >= text.size() || text[i] != '=') return bad("expected '=' after " + Quote(name));
      ++i;
      skip();
      if (i >= text.size() || (text[i] != '"' && text[i] != '\'' && text[i] != '`')) {
        return bad("expected a quoted label value");
      }
      Result<std::string> value = ReadQuoted(text, &i);
      if (!value.ok()) return bad(value.status().message());
      if (!seen.insert(name).second) return bad("label " + Quote(name) + " given twice");
      b.Set(name, *value);
      skip();
      if (i < text.size() && text[i] == ',') {
        ++i;
      } else if (i < text.size() && text[i] != '}') {
        return bad("expected ',' or '}'");
      }
    }
  }
  skip();
  if (i != text.size()) return bad("unexpected text");
  return b.Build();
}

// A number at the start of s: [+-] digits[.digits][e[+-]digits], Inf or NaN.
size_t NumberLength(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  for (std::string_view word : {"inf", "nan"}) {
    if (s.size() >= i + 3) {
      std::string head(s.substr(i, 3));
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (head == word) return i + 3;
    }
  }
  const size_t digits = i;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == digits) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && s[j] >= '0' && s[j] <= '9') {
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      i = j;
    }
  }
  return i;
}

std::optional<double> ToDouble(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Each input series may expand to at most this many samples.
constexpr uint64_t kMaxValues = 1'000'000;

Result<uint64_t> Repeat(std::string_view s, std::string_view item) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || n > kMaxValues) {
    return Status::InvalidArgument("bad repetition in " + Quote(item));
  }
  return n;
}

// promtool's expanding notation; nullopt is an omitted sample ("_").
//   'a' one value; 'a+bxn' / 'a-bxn' n+1 values from a in steps of b;
//   'axn' a, n+1 times; '_' one omitted; '_xn' n omitted; 'stale' a stale marker.
Result<std::vector<std::optional<double>>> ExpandValues(std::string_view text) {
  std::vector<std::optional<double>> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    if (i >= text.size()) break;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    const std::string_view item = text.substr(start, i - start);
    auto bad = [&](std::string_view why) {
      return Status::InvalidArgument("values: " + Quote(item) + ": " + std::string(why));
    };
    if (item == "_") {
      out.emplace_back();
    } else if (item.starts_with("_x")) {
      Result<uint64_t> n = Repeat(item.substr(2), item);
      if (!n.ok()) return n.status();
      out.insert(out.end(), *n, std::nullopt);
    } else if (item == "stale") {
      out.emplace_back(core::StaleNaN());
    } else {
      const size_t n1 = NumberLength(item);
      std::optional<double> a = n1 == 0 ? std::nullopt : ToDouble(item.substr(0, n1));
      if (!a) return bad("expected a number, \"_\" or \"stale\"");
      std::string_view rest = item.substr(n1);
      double step = 0;
      if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
        const size_t n2 = NumberLength(rest);
        std::optional<double> b = n2 <= 1 ? std::nullopt : ToDouble(rest.substr(0, n2));
        if (!b) return bad("expected a number after the sign");
        step = *b;
        rest.remove_prefix(n2);
      }
      if (rest.empty() && step == 0 && n1 == item.size()) {
        out.emplace_back(*a);
      } else {
        if (rest.empty() || rest[0] != 'x') return bad("expected x<count> after the step");
        Result<uint64_t> n = Repeat(rest.substr(1), item);
        if (!n.ok()) return n.status();
        double v = *a;
        for (uint64_t k = 0; k <= *n; ++k) {
          out.emplace_back(v);
          v += step;  // repeated addition, as promtool does
        }
      }
    }
    if (out.size() > kMaxValues) return bad("too many values");
  }
  return out;
}

// ---- the test file ----------------------------------------------------------

struct SeriesInput {
  std::string where;
  Labels labels;
  std::vector<std::optional<double>> values;
};

struct ExpAlert {
  Labels labels;
  rules::LabelPairs annotations;  // sorted by name
};

struct AlertCase {
  std::string where;
  Duration eval_time;
  std::string alertname;
  std::vector<ExpAlert> exp;
};

struct ExpSample {
  Labels labels;
  double value = 0;
};

struct ExprCase {
  std::string where;
  std::string expr;
  Duration eval_time;
  std::vector<ExpSample> exp;
};

struct ScaleCase {
  std::string where;
  Duration eval_time;
  std::string target;
  rules::LabelPairs votes;  // rule name -> up|down|hold|no_data|proportional
  std::optional<int64_t> desired;
  std::optional<int64_t> raw;
  std::optional<int64_t> replicas;  // the dry run's count after this round's action
  std::string limit;                // "" = not checked
  bool NeedsTarget() const { return desired || raw || replicas || !limit.empty(); }
};

struct TestGroup {
  std::string where;
  std::string name;
  Duration interval;
  Labels external_labels;
  std::string external_url;
  std::map<std::string, int32_t> initial_replicas;
  std::vector<SeriesInput> series;
  std::vector<AlertCase> alerts;
  std::vector<ExprCase> exprs;
  std::vector<ScaleCase> scales;

  Duration MaxEvalTime() const {
    Duration m;
    for (const auto& c : alerts) m = std::max(m, c.eval_time);
    for (const auto& c : exprs) m = std::max(m, c.eval_time);
    for (const auto& c : scales) m = std::max(m, c.eval_time);
    return m;
  }
  int checks() const { return static_cast<int>(alerts.size() + exprs.size() + scales.size()); }
};

struct TestFile {
  std::string path;
  std::vector<std::string> rule_files;  // globs resolved
  Duration evaluation_interval = Duration::Minutes(1);
  std::vector<std::string> group_order;
  bool fuzzy_compare = false;
  std::optional<std::vector<ScaleTargetConfig>> targets;
  std::vector<TestGroup> tests;
};

// glob(3) results, freed with the object.
class GlobMatches {
 public:
  explicit GlobMatches(const std::string& pattern) {
    rc_ = ::glob(pattern.c_str(), 0, nullptr, &g_);
  }
  ~GlobMatches() { ::globfree(&g_); }
  GlobMatches(const GlobMatches&) = delete;  // owns glob_t's buffers
  GlobMatches& operator=(const GlobMatches&) = delete;
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    if (rc_ != 0) return out;
    for (size_t i = 0; i < g_.gl_pathc; ++i) out.emplace_back(g_.gl_pathv[i]);
    return out;
  }

 private:
  glob_t g_{};
  int rc_ = 0;
};

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

const std::set<std::string, std::less<>> kVoteKinds = {"up", "down", "hold", "no_data",
                                                       "proportional"};
const std::set<std::string, std::less<>> kLimits = {"none",         "stabilization", "rate_policy",
                                                    "max_replicas", "min_replicas",  "paused",
                                                    "missing_data"};

// An unknown key usually explains a missing one ("eval_tme"), so it is
// reported before any other error of the mapping.
Status CheckKeys(const YamlNode& node, std::initializer_list<std::string_view> keys) {
  MapReader m(node);
  for (std::string_view k : keys) m.Has(k);
  return m.Finish();
}

Result<int64_t> ReadCount(const YamlNode& n) {
  Result<int64_t> v = n.AsInt();
  if (!v.ok()) return v.status();
  if (*v < 0 || *v > 1'000'000) return n.Error("must be a count in [0, 1000000]");
  return v;
}

Result<SeriesInput> ReadSeries(const YamlNode& node) {
  if (Status s = CheckKeys(node, {"series", "values"}); !s.ok()) return s;
  MapReader m(node);
  std::string series, values;
  m.String("series", &series, true);
  m.String("values", &values);
  if (Status s = m.Finish(); !s.ok()) return s;
  SeriesInput in;
  in.where = node.Where();
  Result<Labels> labels = ParseSeriesLabels(series);
  if (!labels.ok()) return node.Error(labels.status().message());
  if (labels->empty()) return node.Error("series needs a metric name or labels");
  in.labels = std::move(*labels);
  auto v = ExpandValues(values);
  if (!v.ok()) return node.Error(v.status().message());
  in.values = std::move(*v);
  return in;
}

Result<AlertCase> ReadAlertCase(const YamlNode& node) {
  if (Status s = CheckKeys(node, {"eval_time", "alertname", "exp_alerts"}); !s.ok()) return s;
  MapReader m(node);
  AlertCase c;
  c.where = node.Where();
  m.Duration("eval_time", &c.eval_time, true);
  m.String("alertname", &c.alertname, true);
  std::optional<YamlNode> exp = m.Get("exp_alerts");
  if (Status s = m.Finish(); !s.ok()) return s;
  if (c.alertname.empty()) return node.Error("alertname must not be empty");
  if (!exp) return c;
  Result<std::vector<YamlNode>> elems = exp->Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    MapReader am(e);
    rules::LabelPairs labels, annotations;
    am.StringMap("exp_labels", &labels);
    am.StringMap("exp_annotations", &annotations);
    if (Status s = am.Finish(); !s.ok()) return s;
    core::LabelsBuilder b;
    for (const auto& [k, v] : labels) b.Set(k, v);
    // The rule adds alertname; the test names it once for every alert.
    b.Set("alertname", c.alertname);
    std::sort(annotations.begin(), annotations.end());
    c.exp.push_back({b.Build(), std::move(annotations)});
  }
  return c;
}

Result<ExprCase> ReadExprCase(const YamlNode& node) {
  if (Status s = CheckKeys(node, {"expr", "eval_time", "exp_samples"}); !s.ok()) return s;
  MapReader m(node);
  ExprCase c;
  c.where = node.Where();
  m.String("expr", &c.expr, true);
  m.Duration("eval_time", &c.eval_time, true);
  std::optional<YamlNode> exp = m.Get("exp_samples");
  if (Status s = m.Finish(); !s.ok()) return s;
  if (!exp) return c;
  Result<std::vector<YamlNode>> elems = exp->Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    if (Status st = CheckKeys(e, {"labels", "value"}); !st.ok()) return st;
    MapReader sm(e);
    std::string labels;
    ExpSample s;
    sm.String("labels", &labels);
    sm.Double("value", &s.value, true);
    if (Status st = sm.Finish(); !st.ok()) return st;
    Result<Labels> l = ParseSeriesLabels(labels);
    if (!l.ok()) return e.Error(l.status().message());
    s.labels = std::move(*l);
    c.exp.push_back(std::move(s));
  }
  return c;
}

Result<ScaleCase> ReadScaleCase(const YamlNode& node) {
  if (Status s = CheckKeys(node, {"eval_time", "target", "exp_vote_rules", "exp_desired", "exp_raw",
                                  "exp_replicas", "exp_limit"});
      !s.ok()) {
    return s;
  }
  MapReader m(node);
  ScaleCase c;
  c.where = node.Where();
  m.Duration("eval_time", &c.eval_time, true);
  m.String("target", &c.target, true);
  if (auto n = m.Get("exp_vote_rules")) {
    auto votes = n->AsStringMap();
    if (!votes.ok()) return votes.status();
    for (const auto& [rule, kind] : *votes) {
      if (!kVoteKinds.contains(kind)) {
        return n->Error("vote of " + Quote(rule) +
                        " must be up, down, hold, no_data or proportional, got " + Quote(kind));
      }
    }
    c.votes = std::move(*votes);
  }
  for (auto [key, out] : {std::pair{"exp_desired", &c.desired}, std::pair{"exp_raw", &c.raw},
                          std::pair{"exp_replicas", &c.replicas}}) {
    if (auto n = m.Get(key)) {
      Result<int64_t> v = ReadCount(*n);
      if (!v.ok()) return v.status();
      *out = *v;
    }
  }
  if (auto n = m.Get("exp_limit")) {
    Result<std::string> s = n->AsString();
    if (!s.ok()) return s.status();
    if (!kLimits.contains(*s)) {
      return n->Error(
          "exp_limit must be one of none, stabilization, rate_policy, max_replicas, "
          "min_replicas, paused, missing_data; got " +
          Quote(*s));
    }
    c.limit = *s;
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  if (c.votes.empty() && !c.NeedsTarget()) {
    return node.Error(
        "a scale_test needs at least one of exp_vote_rules, exp_desired, exp_raw, "
        "exp_limit, exp_replicas");
  }
  return c;
}

template <typename T>
Status ReadList(MapReader& m, std::string_view key, Result<T> (*read)(const YamlNode&),
                std::vector<T>* out) {
  std::optional<YamlNode> n = m.Get(key);
  if (!n) return Status();
  Result<std::vector<YamlNode>> elems = n->Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    Result<T> v = read(e);
    if (!v.ok()) return v.status();
    out->push_back(std::move(*v));
  }
  return Status();
}

Result<TestGroup> ReadTestGroup(const YamlNode& node, const TestFile& file) {
  MapReader m(node);
  TestGroup g;
  g.where = node.Where();
  g.interval = file.evaluation_interval;
  m.String("name", &g.name);
  m.Duration("interval", &g.interval);
  rules::LabelPairs external;
  m.StringMap("external_labels", &external);
  m.String("external_url", &g.external_url);
  if (auto n = m.Get("initial_replicas")) {
    if (!n->IsMap()) return n->Error("expected a mapping of scale target names to counts");
    for (auto it = n->raw().begin(); it != n->raw().end(); ++it) {
      const std::string name = it->first.Scalar();
      YamlNode value(it->second, n->file(), n->path() + "." + name);
      Result<int64_t> v = ReadCount(value);
      if (!v.ok()) return v.status();
      const bool known = file.targets && std::any_of(file.targets->begin(), file.targets->end(),
                                                     [&](const ScaleTargetConfig& t) {
                                                       return t.target.name == name;
                                                     });
      if (!known) return value.Error("no scale target named " + Quote(name) + " in scale_targets");
      g.initial_replicas[name] = static_cast<int32_t>(*v);
    }
  }
  for (Status s : {ReadList(m, "input_series", &ReadSeries, &g.series),
                   ReadList(m, "alert_rule_test", &ReadAlertCase, &g.alerts),
                   ReadList(m, "promql_expr_test", &ReadExprCase, &g.exprs),
                   ReadList(m, "scale_test", &ReadScaleCase, &g.scales)}) {
    if (!s.ok()) m.Fail(s);
  }
  if (Status s = m.Finish(); !s.ok()) return s;
  if (g.interval <= Duration()) return node.Error("interval must be positive");
  core::LabelsBuilder b;
  for (const auto& [k, v] : external) b.Set(k, v);
  g.external_labels = b.Build();
  std::set<Labels> seen;
  for (const SeriesInput& s : g.series) {
    if (!seen.insert(s.labels).second) {
      return Status::InvalidArgument(s.where + ": series " + s.labels.ToString() +
                                     " is given twice in this test");
    }
  }
  if (!file.targets) {
    for (const ScaleCase& c : g.scales) {
      if (c.NeedsTarget()) {
        return Status::InvalidArgument(
            c.where + ": exp_desired, exp_raw, exp_limit and exp_replicas need scale_targets");
      }
    }
  }
  return g;
}

Result<std::vector<ScaleTargetConfig>> ReadTargets(const YamlNode& node, const std::string& dir) {
  if (node.IsSequence()) return ReadScaleTargets(node);
  Result<std::string> path = node.AsString();
  if (!path.ok()) return node.Error("expected a config file path or a list of scale targets");
  Result<YamlNode> config = YamlNode::LoadFile(Resolve(dir, *path));
  if (!config.ok()) return config.status().WithContext(node.Where() + ": scale_targets");
  MapReader m(*config);  // only scale_targets is read; `check config` judges the rest
  std::optional<YamlNode> targets = m.Get("scale_targets");
  if (!targets) return node.Error(Quote(config->file()) + " has no scale_targets");
  return ReadScaleTargets(*targets);
}

Result<TestFile> ReadTestFile(const std::string& path) {
  Result<YamlNode> root = YamlNode::LoadFile(path);
  if (!root.ok()) return root.status();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  TestFile f;
  f.path = path;
  MapReader m(*root);
  std::vector<std::string> rule_files;
  m.StringList("rule_files", &rule_files);
  m.Duration("evaluation_interval", &f.evaluation_interval);
  m.StringList("group_eval_order", &f.group_order);
  m.Bool("fuzzy_compare", &f.fuzzy_compare);
  std::optional<YamlNode> targets = m.Get("scale_targets");
  std::optional<YamlNode> tests = m.Get("tests");
  if (Status s = m.Finish(); !s.ok()) return s;
  if (f.evaluation_interval <= Duration()) {
    return root->Error("evaluation_interval must be positive");
  }
  for (const std::string& pattern : rule_files) {
    std::vector<std::string> found = GlobMatches(Resolve(dir, pattern)).paths();
    if (found.empty()) {
      return Status::InvalidArgument(path + ": rule_files: no file matches " + Quote(pattern));
    }
    f.rule_files.insert(f.rule_files.end(), found.begin(), found.end());
  }
  if (targets) {
    Result<std::vector<ScaleTargetConfig>> t = ReadTargets(*targets, dir);
    if (!t.ok()) return t.status();
    f.targets = std::move(*t);
  }
  if (!tests) return f;
  Result<std::vector<YamlNode>> elems = tests->Elements();
  if (!elems.ok()) return elems.status();
  for (const YamlNode& e : *elems) {
    Result<TestGroup> g = ReadTestGroup(e, f);
    if (!g.ok()) return g.status();
    if (g->name.empty()) g->name = "#" + std::to_string(f.tests.size() + 1);
    f.tests.push_back(std::move(*g));
  }
  return f;
}

// ---- running one test group ---------------------------------------------

class Reporter {
 public:
  explicit Reporter(std::ostream& out) : out_(out) {}
  void Pass() { ++counts_.passed; }
  void Fail(const std::string& line) {
    out_ << line << "\n";
    ++counts_.failed;
  }
  void Check(const std::string& failure) {
    if (failure.empty()) {
      Pass();
    } else {
      Fail(failure);
    }
  }
  const RuleTestCounts& counts() const { return counts_; }

 private:
  std::ostream& out_;
  RuleTestCounts counts_;
};

class StoreQuerier : public rules::Querier {
 public:
  StoreQuerier(const store::Store* store, const promql::Engine* engine)
      : store_(store), engine_(engine) {}
  Result<promql::Value> Query(const rules::Rule& rule, Time t) override {
    if (rule.expr == nullptr) {
      return Status::Internal("rule " + rule.name + " has no parsed expression");
    }
    store::View view = store_->NewView();  // released before the sink appends
    return engine_->Instant(*rule.expr, view, t);
  }

 private:
  const store::Store* store_;
  const promql::Engine* engine_;
};

class StoreSink : public rules::SampleSink {
 public:
  explicit StoreSink(store::Store* store) : store_(store) {}
  void Write(const Labels& labels, int64_t t_ms, double value) override {
    pending_.push_back({labels, t_ms, value});
  }
  void Flush() override {
    if (pending_.empty()) return;
    store::Appender app = store_->NewAppender();
    for (const Pending& p : pending_) app.Append(app.GetOrCreate(p.labels), p.t_ms, p.value);
    app.Commit();
    pending_.clear();
  }

 private:
  struct Pending {
    Labels labels;
    int64_t t_ms;
    double value;
  };
  store::Store* store_;
  std::vector<Pending> pending_;
};

bool SameValue(double a, double b, bool fuzzy) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  if (!fuzzy || std::signbit(a) != std::signbit(b)) return false;
  // fuzzy_compare: ignore a difference in the last bit of the mantissa.
  const uint64_t x = std::bit_cast<uint64_t>(a), y = std::bit_cast<uint64_t>(b);
  return (x > y ? x - y : y - x) <= 1;
}

std::string FormatPairs(const rules::LabelPairs& pairs) {
  std::string s = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) s += ", ";
    s += pairs[i].first + "=" + Quote(pairs[i].second);
  }
  return s + "}";
}

std::string FormatAlerts(const std::vector<ExpAlert>& alerts) {
  std::string s = "[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    if (i > 0) s += ", ";
    s += alerts[i].labels.ToString() + " " + FormatPairs(alerts[i].annotations);
  }
  return s + "]";
}

std::string FormatSamples(const std::vector<ExpSample>& samples) {
  std::string s = "[";
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0) s += ", ";
    s += samples[i].labels.ToString() + " " + promql::FormatFloatG(samples[i].value);
  }
  return s + "]";
}

bool AlertLess(const ExpAlert& a, const ExpAlert& b) {
  if (a.labels == b.labels) return a.annotations < b.annotations;
  return a.labels < b.labels;
}

// One scale target's dry run: the count follows every applied decision.
struct TargetRun {
  const ScaleTargetConfig* config = nullptr;
  int32_t current = 0;
  decide::History history;
  promql::ExprPtr ready_when;
  std::optional<decide::Decision> last;
  std::string held;  // why the last decision was not applied as decided, for messages
};

struct VoteEntry {
  const rules::Rule* rule = nullptr;
  rules::ScaleVote vote;
};

class GroupRun {
 public:
  GroupRun(const TestFile& file, const TestGroup& test, Reporter* reporter)
      : file_(file),
        test_(test),
        reporter_(reporter),
        store_(store::StoreOptions{Duration()}),
        engine_(EngineOptionsFor(file)) {}

  // Fails (one line) when the test cannot start; checks report themselves.
  // `groups` are in evaluation order.
  Status Setup(const std::vector<const rules::Group*>& groups) {
    LoadSeries();
    rules::EvalOptions options;
    options.external_labels = test_.external_labels;
    options.external_url = test_.external_url;
    for (const rules::Group* g : groups) {
      evaluators_.push_back(std::make_unique<rules::GroupEvaluator>(*g, options));
    }
    if (file_.targets) {
      for (const ScaleTargetConfig& c : *file_.targets) {
        TargetRun run;
        run.config = &c;
        auto initial = test_.initial_replicas.find(c.target.name);
        if (initial != test_.initial_replicas.end()) {
          run.current = initial->second;
        } else if (c.actuator.kind == ActuatorConfig::Kind::kDryRun) {
          run.current = c.actuator.initial_replicas;
        } else {
          run.current = c.target.min_replicas;
        }
        if (!c.ready_when.empty()) {
          Result<promql::ExprPtr> e = promql::Parse(c.ready_when);
          if (!e.ok()) {
            return Status::InvalidArgument("scale target " + c.target.name +
                                           ": ready_when: " + e.status().message());
          }
          run.ready_when = *e;
        }
        targets_.emplace(c.target.name, std::move(run));
      }
    }
    return Status();
  }

  void Run() {
    struct Due {
      Duration at;
      const AlertCase* alert = nullptr;
      const ScaleCase* scale = nullptr;
    };
    std::vector<Due> due;
    for (const AlertCase& c : test_.alerts) due.push_back({c.eval_time, &c, nullptr});
    for (const ScaleCase& c : test_.scales) due.push_back({c.eval_time, nullptr, &c});
    std::stable_sort(due.begin(), due.end(),
                     [](const Due& a, const Due& b) { return a.at < b.at; });
    size_t next = 0;
    const Duration step = file_.evaluation_interval;
    const Duration end = test_.MaxEvalTime();
    for (Duration since; since <= end; since = since + step) {
      const Time t = Time() + since;
      Tick(t);
      // A check at eval_time sees the round at the last tick not after it.
      while (next < due.size() && due[next].at < since + step) {
        if (due[next].alert != nullptr) CheckAlerts(*due[next].alert);
        if (due[next].scale != nullptr) CheckScale(*due[next].scale);
        ++next;
      }
    }
    for (const ExprCase& c : test_.exprs) CheckExpr(c);
  }

 private:
  static promql::EngineOptions EngineOptionsFor(const TestFile& file) {
    promql::EngineOptions o;
    o.default_subquery_step = file.evaluation_interval;  // as promtool
    return o;
  }

  std::string Prefix(const std::string& where) const {
    return where + ": test " + Quote(test_.name) + ": ";
  }

  void LoadSeries() {
    store::Appender app = store_.NewAppender();
    for (const SeriesInput& s : test_.series) {
      store::SeriesRef ref = app.GetOrCreate(s.labels);
      for (size_t i = 0; i < s.values.size(); ++i) {
        if (!s.values[i]) continue;
        const int64_t t_ms = (test_.interval * static_cast<int64_t>(i)).millis();
        app.Append(ref, t_ms, *s.values[i]);
      }
    }
    app.Commit();
  }

  void Tick(Time t) {
    StoreSink sink(&store_);
    StoreQuerier querier(&store_, &engine_);
    std::set<std::string> touched;
    for (const auto& ev : evaluators_) {
      rules::GroupResult result = ev->Eval(querier, sink, t);
      const rules::Group& group = ev->group();
      if (result.failures > 0) ReportRuleErrors(*ev, t);
      for (rules::ScaleVote& vote : result.votes) {
        const rules::Rule* rule = nullptr;
        for (const rules::Rule& r : group.rules) {
          if (r.kind == rules::Rule::Kind::kScale && r.name == vote.rule &&
              r.target == vote.target) {
            rule = &r;
          }
        }
        touched.insert(vote.target);
        auto& slot = votes_[vote.target][group.name + "/" + vote.rule];
        slot = VoteEntry{rule, std::move(vote)};
      }
    }
    for (const std::string& name : touched) {
      auto it = targets_.find(name);
      if (it != targets_.end()) DecideTarget(it->second, t);
    }
  }

  void ReportRuleErrors(const rules::GroupEvaluator& ev, Time t) {
    const rules::Group& group = ev.group();
    for (size_t i = 0; i < group.rules.size(); ++i) {
      const rules::RuleHealth& h = ev.health()[i];
      if (h.health != "err") continue;
      const rules::Rule& r = group.rules[i];
      // Once per rule: one broken expression would otherwise fail every round.
      if (!rule_errors_.insert(group.name + "/" + std::to_string(i)).second) continue;
      reporter_->Fail(Prefix(test_.where) + "rule " + Quote(r.name) + " (" + r.file + ":" +
                      std::to_string(r.line) + ") failed at " + (t - Time()).ToString() + ": " +
                      h.last_error);
    }
  }

  void DecideTarget(TargetRun& run, Time t) {
    const ScaleTargetConfig& c = *run.config;
    std::vector<decide::Verdict> verdicts;
    for (const auto& [key, entry] : votes_[c.target.name]) {
      if (entry.rule != nullptr) verdicts.push_back(VerdictFromVote(*entry.rule, entry.vote));
    }
    decide::Round round{t, run.current, verdicts};
    decide::Decision d = decide::Decide(c.target, round, run.history);
    run.history = d.history;
    run.held.clear();
    if (d.desired != d.current) {
      // What the executor would apply: bounds, max_step, then the ready gate.
      int32_t to = std::clamp(d.desired, c.target.min_replicas, c.target.max_replicas);
      if (c.max_step > 0) {
        to = std::clamp(to, d.current - c.max_step, d.current + c.max_step);
        if (to != d.desired) run.held = "; max_step " + std::to_string(c.max_step);
      }
      if (to != d.current && !GateOpen(run, t)) {
        run.held = "; ready_when is not true";
      } else if (to != d.current) {
        decide::Decision applied;
        applied.at = t;
        applied.current = d.current;
        applied.desired = to;
        decide::RecordScale(c.target, applied, &run.history);
        run.current = to;
      }
    }
    run.last = std::move(d);
  }

  // ready_when as the service reads it: one value, neither 0 nor NaN.
  bool GateOpen(const TargetRun& run, Time t) const {
    if (run.ready_when == nullptr) return true;
    store::View view = store_.NewView();
    Result<promql::Value> v = engine_.Instant(*run.ready_when, view, t);
    if (!v.ok()) return false;
    std::optional<double> x;
    if (const auto* s = std::get_if<promql::Scalar>(&*v)) x = s->value;
    if (const auto* vec = std::get_if<promql::Vector>(&*v); vec != nullptr && vec->size() == 1) {
      x = (*vec)[0].value;
    }
    return x && *x != 0 && !std::isnan(*x);
  }

  void CheckAlerts(const AlertCase& c) {
    std::vector<ExpAlert> got;
    bool found = false;
    for (const auto& ev : evaluators_) {
      const rules::Group& group = ev->group();
      for (size_t i = 0; i < group.rules.size(); ++i) {
        const rules::Rule& r = group.rules[i];
        if (r.kind != rules::Rule::Kind::kAlert || r.name != c.alertname) continue;
        found = true;
        for (const rules::Alert& a : ev->Alerts(i)) {
          if (a.state != rules::ActiveState::kFiring) continue;
          rules::LabelPairs annotations = a.annotations;
          std::sort(annotations.begin(), annotations.end());
          got.push_back({a.labels, std::move(annotations)});
        }
      }
    }
    const std::string prefix =
        Prefix(c.where) + "alertname " + c.alertname + " at " + c.eval_time.ToString() + ": ";
    if (!found) return reporter_->Fail(prefix + "no alerting rule has this name");
    std::vector<ExpAlert> exp = c.exp;
    std::sort(exp.begin(), exp.end(), AlertLess);
    std::sort(got.begin(), got.end(), AlertLess);
    const bool same =
        exp.size() == got.size() &&
        std::equal(exp.begin(), exp.end(), got.begin(), [](const ExpAlert& a, const ExpAlert& b) {
          return a.labels == b.labels && a.annotations == b.annotations;
        });
    reporter_->Check(same ? ""
                          : prefix + "exp " + FormatAlerts(exp) + ", got " + FormatAlerts(got));
  }

  void CheckScale(const ScaleCase& c) {
    const std::string prefix =
        Prefix(c.where) + "target " + c.target + " at " + c.eval_time.ToString() + ": ";
    std::vector<std::string> problems;
    const auto& votes = votes_[c.target];
    for (const auto& [rule, want] : c.votes) {
      bool seen = false;
      for (const auto& [key, entry] : votes) {
        if (entry.vote.rule != rule) continue;
        seen = true;
        const std::string_view got = rules::ScaleVoteName(entry.vote.kind);
        if (got != want) {
          problems.push_back("vote " + rule + ": got " + std::string(got) + " (" +
                             entry.vote.reason + "), want " + want);
        }
      }
      if (!seen) problems.push_back("no scale rule " + Quote(rule) + " votes for this target");
    }
    if (c.NeedsTarget()) {
      auto it = targets_.find(c.target);
      if (it == targets_.end()) {
        problems.push_back("no scale target " + Quote(c.target) + " in scale_targets");
      } else if (!it->second.last) {
        problems.push_back("not decided: no scale rule names this target");
      } else {
        const decide::Decision& d = *it->second.last;
        const std::string limit(decide::LimitName(d.limit));
        const std::string why = d.why.empty() ? "" : "; " + d.why[d.why.size() - 1];
        if (c.desired && *c.desired != d.desired) {
          problems.push_back("desired: got " + std::to_string(d.desired) + ", want " +
                             std::to_string(*c.desired) + " (from " + std::to_string(d.current) +
                             ", raw " + std::to_string(d.raw) + ", limit " + limit + why + ")");
        }
        if (c.raw && *c.raw != d.raw) {
          problems.push_back("raw: got " + std::to_string(d.raw) + ", want " +
                             std::to_string(*c.raw));
        }
        if (!c.limit.empty() && c.limit != limit) {
          problems.push_back("limit: got " + limit + ", want " + c.limit + " (desired " +
                             std::to_string(d.desired) + why + ")");
        }
        if (c.replicas && *c.replicas != it->second.current) {
          problems.push_back("replicas: got " + std::to_string(it->second.current) + ", want " +
                             std::to_string(*c.replicas) + " (desired " +
                             std::to_string(d.desired) + it->second.held + ")");
        }
      }
    }
    std::string failure;
    for (const std::string& p : problems) failure += (failure.empty() ? "" : "; ") + p;
    reporter_->Check(failure.empty() ? "" : prefix + failure);
  }

  void CheckExpr(const ExprCase& c) {
    const std::string prefix =
        Prefix(c.where) + "expr " + Quote(c.expr) + " at " + c.eval_time.ToString() + ": ";
    Result<promql::ExprPtr> expr = promql::Parse(c.expr);
    if (!expr.ok()) return reporter_->Fail(prefix + expr.status().message());
    Result<promql::Value> v = [&] {
      store::View view = store_.NewView();
      return engine_.Instant(**expr, view, Time() + c.eval_time);
    }();
    if (!v.ok()) return reporter_->Fail(prefix + v.status().message());
    std::vector<ExpSample> got;
    if (const auto* s = std::get_if<promql::Scalar>(&*v)) {
      got.push_back({Labels(), s->value});
    } else if (const auto* vec = std::get_if<promql::Vector>(&*v)) {
      for (const promql::VectorSample& s : *vec) got.push_back({s.labels, s.value});
    } else {
      return reporter_->Fail(prefix + "the result is not a vector or scalar");
    }
    std::vector<ExpSample> exp = c.exp;
    auto by_labels = [](const ExpSample& a, const ExpSample& b) { return a.labels < b.labels; };
    std::sort(exp.begin(), exp.end(), by_labels);
    std::sort(got.begin(), got.end(), by_labels);
    const bool same =
        exp.size() == got.size() &&
        std::equal(
            exp.begin(), exp.end(), got.begin(), [&](const ExpSample& a, const ExpSample& b) {
              return a.labels == b.labels && SameValue(a.value, b.value, file_.fuzzy_compare);
            });
    reporter_->Check(same ? ""
                          : prefix + "exp " + FormatSamples(exp) + ", got " + FormatSamples(got));
  }

  const TestFile& file_;
  const TestGroup& test_;
  Reporter* reporter_;
  store::Store store_;
  promql::Engine engine_;
  std::vector<std::unique_ptr<rules::GroupEvaluator>> evaluators_;
  std::map<std::string, TargetRun> targets_;
  std::map<std::string, std::map<std::string, VoteEntry>> votes_;  // target -> group/rule
  std::set<std::string> rule_errors_;
};

void RunFile(const std::string& path, Reporter* reporter) {
  Result<TestFile> file = ReadTestFile(path);
  if (!file.ok()) return reporter->Fail(file.status().message());
  Result<rules::RuleSet> set = rules::LoadFiles(file->rule_files);
  if (!set.ok()) return reporter->Fail(set.status().message());
  if (file->targets) {
    for (const rules::Group& g : set->groups) {
      for (const rules::Rule& r : g.rules) {
        const bool known =
            std::any_of(file->targets->begin(), file->targets->end(),
                        [&](const ScaleTargetConfig& t) { return t.target.name == r.target; });
        if (r.kind == rules::Rule::Kind::kScale && !known) {
          return reporter->Fail(r.file + ":" + std::to_string(r.line) + ": scale rule " +
                                Quote(r.name) + " names unknown scale target " + Quote(r.target));
        }
      }
    }
  }
  // group_eval_order's groups first, in that order; the others as loaded.
  std::vector<const rules::Group*> ordered;
  for (const std::string& name : file->group_order) {
    auto it = std::find_if(set->groups.begin(), set->groups.end(),
                           [&](const rules::Group& g) { return g.name == name; });
    if (it == set->groups.end()) {
      return reporter->Fail(path + ": group_eval_order: no group named " + Quote(name));
    }
    ordered.push_back(&*it);
  }
  for (const rules::Group& g : set->groups) {
    if (std::find(ordered.begin(), ordered.end(), &g) == ordered.end()) ordered.push_back(&g);
  }
  for (const TestGroup& test : file->tests) {
    GroupRun run(*file, test, reporter);
    if (Status s = run.Setup(ordered); !s.ok()) {
      reporter->Fail(test.where + ": test " + Quote(test.name) + ": " + s.message());
      continue;
    }
    run.Run();
  }
}

}  // namespace


RuleTestCounts RunRuleTests(const std::vector<std::string>& paths, std::ostream& out) {
  Reporter reporter(out);
  for (const std::string& path : paths) RunFile(path, &reporter);
  out << reporter.counts().passed << " passed, " << reporter.counts().failed << " failed\n";
  return reporter.counts();
}

}  // namespace amas::app
