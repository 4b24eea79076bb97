// promqltest.cpp: the promqltest script runner, after Prometheus's
// promql/promqltest/test.go (parse, load, eval, compare).
#include "promql/promqltest.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <re2/re2.h>

#include "promql/ast.h"
#include "promql/eval.h"
#include "promql/go_strconv.h"
#include "store/store.h"

namespace amas::promql {
namespace {

constexpr double kEpsilon = 0.000001;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n' || s.front() == '\v' || s.front() == '\f')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n' || s.back() == '\v' || s.back() == '\f')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  return out;
}

// One value of a series description: a number, a stale marker, or omitted.
struct SeqValue {
  double value = 0;
  bool omitted = false;
};

struct SeriesDesc {
  core::Labels labels;
  std::vector<SeqValue> values;
};

// ---- series descriptions: name{l="v"} 1 2+3x4 _ _x2 stale --------------------

bool IsMetricChar(char c, bool first) {
  return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (!first && c >= '0' && c <= '9');
}

// Length of a Go string literal starting at s[0] (", ' or `), or 0.
size_t QuotedLength(std::string_view s) {
  const char q = s[0];
  for (size_t i = 1; i < s.size(); ++i) {
    if (q != '`' && s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == q) return i + 1;
  }
  return 0;
}

core::Result<std::pair<core::Labels, std::string_view>> ParseMetric(std::string_view line) {
  auto bad = [&](std::string_view why) {
    return core::Status::InvalidArgument("bad series description " + GoQuote(line) + ": " +
                                         std::string(why));
  };
  core::LabelsBuilder b;
  size_t i = 0;
  while (i < line.size() && IsMetricChar(line[i], i == 0)) ++i;
  if (i > 0) b.Set("__name__", line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) return bad("unclosed '{'");
      if (line[i] == '}') {
        ++i;
        break;
      }
      std::string name;
      if (line[i] == '"' || line[i] == '\'' || line[i] == '`') {
        const size_t n = QuotedLength(line.substr(i));
        if (n == 0) return bad("unterminated label name");
        auto u = Unquote(line.substr(i, n));
        if (!u.ok()) return bad("bad label name");
        name = std::move(*u);
        i += n;
      } else {
        const size_t start = i;
        while (i < line.size() && IsMetricChar(line[i], i == start) && line[i] != ':') ++i;
        if (i == start) return bad("expected a label name");
        name = std::string(line.substr(start, i - start));
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size() || line[i] != '=') return bad("expected '='");
      ++i;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size() || (line[i] != '"' && line[i] != '\'' && line[i] != '`')) {
        return bad("expected a quoted label value");
      }
      const size_t n = QuotedLength(line.substr(i));
      if (n == 0) return bad("unterminated label value");
      auto v = Unquote(line.substr(i, n));
      if (!v.ok()) return bad("bad label value");
      b.Set(name, *v);
      i += n;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] == ',') ++i;
    }
  } else if (i == 0) {
    return bad("expected a metric name or '{'");
  }
  return std::make_pair(b.Build(), line.substr(i));
}

// The longest prefix of s that reads as a (signed) series value number.
size_t NumberPrefix(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const std::string rest = ToLower(s.substr(i, 3));
  if (rest == "inf" || rest == "nan") return i + 3;
  const size_t digits_start = i;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_')) ++i;
  if (i == digits_start) return 0;
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

core::Result<uint64_t> ParseRepeat(std::string_view s) {
  if (s.empty()) return core::Status::InvalidArgument("missing repetition count");
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || n > 1'000'000'000) {
      return core::Status::InvalidArgument("invalid repetition in series values: " +
                                           GoQuote(s));
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

core::Status ParseValueItem(std::string_view item, std::vector<SeqValue>* out) {
  auto bad = [&](std::string why) {
    return core::Status::InvalidArgument("bad series value " + GoQuote(item) + ": " + why);
  };
  if (item == "_") {
    out->push_back(SeqValue{0, true});
    return core::Status::Ok();
  }
  if (item.starts_with("_x")) {
    auto n = ParseRepeat(item.substr(2));
    if (!n.ok()) return n.status();
    for (uint64_t k = 0; k < *n; ++k) out->push_back(SeqValue{0, true});
    return core::Status::Ok();
  }
  if (item == "stale") {
    out->push_back(SeqValue{core::StaleNaN(), false});
    return core::Status::Ok();
  }
  const size_t n1 = NumberPrefix(item);
  if (n1 == 0) return bad("expected a number, \"stale\" or \"_\"");
  auto a = ParseGoNumber(item.substr(0, n1));
  if (!a.ok()) return bad(a.status().message());
  std::string_view rest = item.substr(n1);
  if (rest.empty()) {
    out->push_back(SeqValue{*a, false});
    return core::Status::Ok();
  }
  double step = 0;
  bool has_step = false;
  if (rest[0] == '+' || rest[0] == '-') {
    const size_t n2 = NumberPrefix(rest);
    if (n2 <= 1) return bad("expected a number after the sign");
    auto b = ParseGoNumber(rest.substr(0, n2));
    if (!b.ok()) return bad(b.status().message());
    step = *b;
    has_step = true;
    rest = rest.substr(n2);
  }
  if (rest.empty() || rest[0] != 'x') return bad("expected x<count>");
  auto times = ParseRepeat(rest.substr(1));
  if (!times.ok()) return times.status();
  double v = *a;
  for (uint64_t k = 0; k <= *times; ++k) {
    out->push_back(SeqValue{v, false});
    if (has_step) v += step;  // repeated addition, as upstream
  }
  return core::Status::Ok();
}

core::Result<SeriesDesc> ParseSeriesDesc(std::string_view line) {
  auto metric = ParseMetric(line);
  if (!metric.ok()) return metric.status();
  SeriesDesc d;
  d.labels = std::move(metric->first);
  std::string_view rest = metric->second;
  if (rest.find("{{") != std::string_view::npos) {
    return core::Status::Unimplemented("native histogram values are not supported");
  }
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    if (i >= rest.size()) break;
    const size_t start = i;
    while (i < rest.size() && rest[i] != ' ' && rest[i] != '\t') ++i;
    if (auto st = ParseValueItem(rest.substr(start, i - start), &d.values); !st.ok()) return st;
  }
  return d;
}

// ---- commands -----------------------------------------------------------

struct LoadCmd {
  int line = 0;
  int64_t interval_ms = 0;
  std::vector<SeriesDesc> series;  // later lines with the same labels replace earlier ones
  std::vector<std::string> skipped;  // lines that could not be read
};

enum class ExpectKind { kOrdered, kFail, kWarn, kNoWarn, kInfo, kNoInfo };

struct ExpectCmd {
  std::string message;         // exact match when no regex
  std::shared_ptr<RE2> regex;  // unanchored search
  bool any = false;            // neither msg: nor regex: given
  bool Matches(const std::string& s) const {
    if (any) return true;
    if (regex) return RE2::PartialMatch(s, *regex);
    return message == s;
  }
  std::string Describe() const { return any ? "^.*$" : regex ? regex->pattern() : message; }
};

struct ExpectedSeries {
  core::Labels labels;
  std::vector<SeqValue> values;
  int pos = 0;
};

struct EvalCmd {
  int line = 0;
  std::string upstream;  // "# file.test:123" provenance, when the script has one
  std::string expr;
  bool is_range = false;
  int64_t start = 0, end = 0, step = 0, eval_time = 0;
  bool fail = false, warn = false, info = false, ordered = false;
  std::string expected_fail_message;
  std::shared_ptr<RE2> expected_fail_regexp;
  std::map<ExpectKind, std::vector<ExpectCmd>> expects;
  bool expect_scalar = false;
  double scalar = 0;
  std::vector<ExpectedSeries> expected;
  std::optional<std::string> expected_string;
  bool exclude_from_range = false;

  bool IsOrdered() const { return ordered || expects.count(ExpectKind::kOrdered); }
  bool IsFail() const { return fail || expects.count(ExpectKind::kFail); }
};

struct Command {
  enum class Kind { kClear, kLoad, kEval, kBroken } kind = Kind::kClear;
  int line = 0;
  LoadCmd load;
  EvalCmd eval;
  std::string error;     // kBroken: why the command could not be read
  bool is_eval = false;  // kBroken: counts as a failed case
};

core::Result<int64_t> ParseDurationMs(std::string_view s) {
  auto d = core::Duration::Parse(Trim(s));
  if (!d.ok()) return d.status();
  return d->millis();
}

std::optional<double> ParseNumberLine(std::string_view s) {
  auto v = ParseGoNumber(s);
  if (!v.ok()) return std::nullopt;
  return *v;
}

class ScriptParser {
 public:
  explicit ScriptParser(std::string_view text) {
    size_t pos = 0;
    while (true) {
      const size_t nl = text.find('\n', pos);
      const std::string_view raw =
          text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      std::string_view l = Trim(raw);
      std::string provenance;
      if (l.starts_with("#")) {
        // Keep "# file.test:123" for messages; comments are blank lines otherwise.
        std::string_view c = Trim(l.substr(1));
        if (c.find(".test:") != std::string_view::npos && c.find(' ') == std::string_view::npos) {
          provenance = std::string(c);
        }
        l = {};
      }
      lines_.emplace_back(l);
      provenance_.push_back(std::move(provenance));
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
  }

  std::vector<Command> Parse() {
    std::vector<Command> cmds;
    for (size_t i = 0; i < lines_.size(); ++i) {
      const std::string& l = lines_[i];
      if (l.empty()) continue;
      const size_t sp = l.find_first_of(" \t");
      const std::string word = ToLower(l.substr(0, sp));
      Command cmd;
      cmd.line = static_cast<int>(i + 1);
      if (word == "clear") {
        cmd.kind = Command::Kind::kClear;
      } else if (word.starts_with("load")) {
        ParseLoad(&i, &cmd);
      } else if (word.starts_with("eval")) {
        ParseEval(&i, &cmd);
      } else {
        cmd.kind = Command::Kind::kBroken;
        cmd.error = "invalid command " + GoQuote(l);
      }
      cmds.push_back(std::move(cmd));
    }
    return cmds;
  }

 private:
  void Broken(Command* cmd, std::string why, bool is_eval) {
    cmd->kind = Command::Kind::kBroken;
    cmd->error = std::move(why);
    cmd->is_eval = is_eval;
  }

  // Skips to the end of the block starting after line *i.
  void SkipBlock(size_t* i) {
    while (*i + 1 < lines_.size() && !lines_[*i + 1].empty()) ++*i;
  }

  void ParseLoad(size_t* i, Command* cmd) {
    static const RE2 pat(R"(^load(?:_(with_nhcb))?\s+(.+?)$)");
    std::string nhcb, step;
    if (!RE2::FullMatch(lines_[*i], pat, &nhcb, &step)) {
      SkipBlock(i);
      return Broken(cmd, "invalid load command. (load[_with_nhcb] <step:duration>)", false);
    }
    if (!nhcb.empty()) {
      SkipBlock(i);
      return Broken(cmd, "load_with_nhcb (native histograms) is not supported", false);
    }
    auto interval = ParseDurationMs(step);
    if (!interval.ok()) {
      SkipBlock(i);
      return Broken(cmd, "invalid step definition " + GoQuote(step) + ": " +
                             interval.status().message(), false);
    }
    cmd->kind = Command::Kind::kLoad;
    cmd->load.line = cmd->line;
    cmd->load.interval_ms = *interval;
    while (*i + 1 < lines_.size() && !lines_[*i + 1].empty()) {
      ++*i;
      const std::string& def = lines_[*i];
      const size_t sp = def.find_first_of(" \t");
      if (sp != std::string::npos && std::string_view(def).substr(0, sp).ends_with("@st")) {
        SkipBlock(i);
        return Broken(cmd, "line " + std::to_string(*i + 1) +
                               ": start timestamps (@st) are not supported", false);
      }
      auto s = ParseSeriesDesc(def);
      if (!s.ok()) {
        // The other series of the block still load; cases that need this one fail.
        cmd->load.skipped.push_back("line " + std::to_string(*i + 1) + ": " +
                                    s.status().message() + " (series not loaded)");
        continue;
      }
      auto& series = cmd->load.series;
      auto it = std::find_if(series.begin(), series.end(),
                             [&](const SeriesDesc& d) { return d.labels == s->labels; });
      if (it != series.end()) {
        *it = std::move(*s);
      } else {
        series.push_back(std::move(*s));
      }
    }
  }

  void ParseEval(size_t* i, Command* cmd) {
    static const RE2 pat_instant(
        R"(^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
    static const RE2 pat_range(
        R"(^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$)");
    static const RE2 pat_expect(
        R"(^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$)");
    static const RE2 pat_expect_range(R"(^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$)");

    EvalCmd& ev = cmd->eval;
    ev.line = cmd->line;
    if (*i > 0) ev.upstream = provenance_[*i - 1];
    const std::string& header = lines_[*i];
    std::string mod, at, from, to, step;
    if (RE2::FullMatch(header, pat_instant, &mod, &at, &ev.expr)) {
      auto t = ParseDurationMs(at);
      if (!t.ok()) {
        SkipBlock(i);
        return Broken(cmd, "invalid timestamp definition " + GoQuote(at) + ": " +
                               t.status().message(), true);
      }
      ev.start = ev.eval_time = *t;
    } else if (RE2::FullMatch(header, pat_range, &mod, &from, &to, &step, &ev.expr)) {
      ev.is_range = true;
      auto f = ParseDurationMs(from), e = ParseDurationMs(to), s = ParseDurationMs(step);
      if (!f.ok() || !e.ok() || !s.ok()) {
        SkipBlock(i);
        return Broken(cmd, "invalid range definition", true);
      }
      if (*e < *f) {
        SkipBlock(i);
        return Broken(cmd, "invalid test definition, end timestamp (" + to +
                               ") is before start timestamp (" + from + ")", true);
      }
      ev.start = *f, ev.end = *e, ev.step = *s;
    } else {
      SkipBlock(i);
      return Broken(cmd, "invalid evaluation command", true);
    }
    ev.fail = mod == "fail";
    ev.warn = mod == "warn";
    ev.info = mod == "info";
    ev.ordered = mod == "ordered";
    cmd->kind = Command::Kind::kEval;

    bool expect_range_vector = false;
    for (int j = 1; *i + 1 < lines_.size(); ++j) {
      ++*i;
      const std::string& def = lines_[*i];
      if (def.empty()) {
        --*i;
        break;
      }
      if (ev.fail && def.starts_with("expected_fail_message")) {
        ev.expected_fail_message = std::string(Trim(std::string_view(def).substr(21)));
        break;
      }
      if (ev.fail && def.starts_with("expected_fail_regexp")) {
        ev.expected_fail_regexp =
            std::make_shared<RE2>(std::string(Trim(std::string_view(def).substr(20))));
        break;
      }
      if (def.starts_with("expect range vector")) {
        std::string rf, rt, rs;
        if (!RE2::FullMatch(def, pat_expect_range, &rf, &rt, &rs)) {
          SkipBlock(i);
          return Broken(cmd, "invalid range vector definition " + GoQuote(def), true);
        }
        auto f = ParseDurationMs(rf), e = ParseDurationMs(rt), s = ParseDurationMs(rs);
        if (!f.ok() || !e.ok() || !s.ok()) {
          SkipBlock(i);
          return Broken(cmd, "invalid range vector definition " + GoQuote(def), true);
        }
        expect_range_vector = true;
        ev.start = *f, ev.end = *e, ev.step = *s, ev.eval_time = *e;
        ev.exclude_from_range = true;
        continue;
      }
      if (def.starts_with("expect string")) {
        auto s = Unquote(Trim(std::string_view(def).substr(13)));
        if (!s.ok()) {
          SkipBlock(i);
          return Broken(cmd, "expected string literal not valid", true);
        }
        ev.expected_string = std::move(*s);
        ev.exclude_from_range = true;
        continue;
      }
      if (def.substr(0, def.find(' ')) == "expect") {
        std::string kind, how, text;
        if (!RE2::FullMatch(std::string(Trim(def)), pat_expect, &kind, &how, &text)) {
          SkipBlock(i);
          return Broken(cmd, "invalid expect statement " + GoQuote(def), true);
        }
        static const std::map<std::string, ExpectKind> kinds = {
            {"ordered", ExpectKind::kOrdered}, {"fail", ExpectKind::kFail},
            {"warn", ExpectKind::kWarn},       {"no_warn", ExpectKind::kNoWarn},
            {"info", ExpectKind::kInfo},       {"no_info", ExpectKind::kNoInfo}};
        ExpectCmd e;
        const std::string body(Trim(text));
        if (how == "msg") {
          e.message = body;
        } else if (how == "regex") {
          e.regex = std::make_shared<RE2>(body);
          if (!e.regex->ok()) {
            SkipBlock(i);
            return Broken(cmd, "invalid regex " + body + " for " + kind, true);
          }
        } else {
          e.any = true;
        }
        ev.expects[kinds.at(kind)].push_back(std::move(e));
        --j;
        continue;
      }
      if (auto f = ParseNumberLine(def)) {
        ev.expect_scalar = true;
        ev.scalar = *f;
        break;
      }
      auto s = ParseSeriesDesc(def);
      if (!s.ok()) {
        SkipBlock(i);
        return Broken(cmd, "line " + std::to_string(*i + 1) + ": " + s.status().message(), true);
      }
      if (s->values.size() > 1 && !ev.is_range && !expect_range_vector) {
        SkipBlock(i);
        return Broken(cmd, "expecting multiple values in instant evaluation not allowed", true);
      }
      ev.expected.push_back(ExpectedSeries{std::move(s->labels), std::move(s->values), j});
    }
  }

  std::vector<std::string> lines_;
  std::vector<std::string> provenance_;  // "file.test:123" from the comment on that line
};

// ---- comparing results --------------------------------------------------------

std::string Str(const core::Labels& l) { return eval::PromLabelsString(l); }

const ExpectedSeries* FindExpected(const EvalCmd& ev, const core::Labels& l) {
  for (const auto& e : ev.expected) {
    if (e.labels == l) return &e;
  }
  return nullptr;
}

std::optional<std::string> CompareResult(const EvalCmd& ev, const Value& result) {
  if (const auto* m = std::get_if<Matrix>(&result)) {
    if (ev.IsOrdered()) return "expected ordered result, but query returned a matrix";
    if (ev.expect_scalar) return "expected scalar result, but got matrix " + FormatValue(result);
    for (size_t i = 1; i < m->size(); ++i) {
      if ((*m)[i].labels < (*m)[i - 1].labels) return "matrix results should always be sorted";
    }
    std::vector<bool> seen(ev.expected.size());
    for (const Series& s : *m) {
      const ExpectedSeries* exp = FindExpected(ev, s.labels);
      if (!exp) return "unexpected metric " + Str(s.labels) + " in result";
      seen[static_cast<size_t>(exp - ev.expected.data())] = true;
      std::vector<store::Sample> want;
      for (size_t i = 0; i < exp->values.size(); ++i) {
        const int64_t ts = ev.start + static_cast<int64_t>(i) * ev.step;
        if (ts > ev.end) {
          return "expected " + std::to_string(exp->values.size()) + " points for " +
                 Str(exp->labels) + ", but query time range cannot return this many points";
        }
        if (!exp->values[i].omitted) want.push_back(store::Sample{ts, exp->values[i].value});
      }
      if (want.size() != s.points.size()) {
        return "expected " + std::to_string(want.size()) + " float points for " +
               Str(exp->labels) + ", but got " + std::to_string(s.points.size());
      }
      for (size_t i = 0; i < want.size(); ++i) {
        if (want[i].t_ms != s.points[i].t_ms) {
          return "expected float value at index " + std::to_string(i) + " for " +
                 Str(exp->labels) + " to have timestamp " + std::to_string(want[i].t_ms) +
                 ", but it had timestamp " + std::to_string(s.points[i].t_ms);
        }
        if (!eval::AlmostEqual(s.points[i].value, want[i].value, kEpsilon)) {
          return "expected float value at index " + std::to_string(i) + " (t=" +
                 std::to_string(s.points[i].t_ms) + ") for " + Str(exp->labels) + " to be " +
                 FormatFloat(want[i].value) + ", but got " + FormatFloat(s.points[i].value);
        }
      }
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      if (!seen[i]) return "expected metric " + Str(ev.expected[i].labels) + " not found";
    }
    return std::nullopt;
  }
  if (const auto* v = std::get_if<Vector>(&result)) {
    if (ev.expect_scalar) return "expected scalar result, but got vector " + FormatValue(result);
    std::vector<bool> seen(ev.expected.size());
    for (size_t pos = 0; pos < v->size(); ++pos) {
      const VectorSample& s = (*v)[pos];
      const ExpectedSeries* exp = FindExpected(ev, s.labels);
      if (!exp) {
        return "unexpected metric " + Str(s.labels) + " in result, has value " +
               FormatFloat(s.value);
      }
      if (ev.IsOrdered() && exp->pos != static_cast<int>(pos) + 1) {
        return "expected metric " + Str(s.labels) + " at position " + std::to_string(exp->pos) +
               " but was at " + std::to_string(pos + 1);
      }
      const double want = exp->values.empty() ? 0 : exp->values[0].value;
      if (!eval::AlmostEqual(want, s.value, kEpsilon)) {
        return "expected " + FormatFloat(want) + " for " + Str(s.labels) + " but got " +
               FormatFloat(s.value);
      }
      seen[static_cast<size_t>(exp - ev.expected.data())] = true;
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      if (!seen[i]) return "expected metric " + Str(ev.expected[i].labels) + " not found";
    }
    return std::nullopt;
  }
  if (const auto* sc = std::get_if<Scalar>(&result)) {
    if (!ev.expect_scalar) return "expected vector or matrix result, but got " + FormatValue(result);
    if (!eval::AlmostEqual(ev.scalar, sc->value, kEpsilon)) {
      return "expected scalar " + FormatFloat(ev.scalar) + " but got " + FormatFloat(sc->value);
    }
    return std::nullopt;
  }
  const auto& str = std::get<String>(result);
  if (ev.expected_string.value_or("") != str.value) {
    return "expected string \"" + ev.expected_string.value_or("") + "\" but got \"" + str.value +
           "\"";
  }
  return std::nullopt;
}

std::optional<std::string> CheckAnnotationsOfKind(const std::vector<ExpectCmd>& expected,
                                                  const std::vector<std::string>& actual,
                                                  std::string_view kind) {
  if (expected.empty()) return std::nullopt;
  if (actual.empty()) return "expected " + std::string(kind) + " annotations but none were found";
  for (const auto& e : expected) {
    if (std::none_of(actual.begin(), actual.end(), [&](const std::string& a) { return e.Matches(a); })) {
      return "expected " + std::string(kind) + " annotation matching " + GoQuote(e.Describe()) +
             " but none matched";
    }
  }
  for (const auto& a : actual) {
    if (std::none_of(expected.begin(), expected.end(), [&](const ExpectCmd& e) { return e.Matches(a); })) {
      return "unexpected " + std::string(kind) + " annotation " + GoQuote(a);
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckAnnotations(const EvalCmd& ev, const Annotations& a) {
  if (ev.warn && a.warnings.empty()) return "expected warnings but got none";
  if (ev.info && a.infos.empty()) return "expected info annotations but got none";
  static const std::vector<ExpectCmd> kNone;
  auto list = [&](ExpectKind k) -> const std::vector<ExpectCmd>& {
    auto it = ev.expects.find(k);
    return it == ev.expects.end() ? kNone : it->second;
  };
  if (auto e = CheckAnnotationsOfKind(list(ExpectKind::kWarn), a.warnings, "warn")) return e;
  if (auto e = CheckAnnotationsOfKind(list(ExpectKind::kInfo), a.infos, "info")) return e;
  if (ev.expects.count(ExpectKind::kNoWarn) && !a.warnings.empty()) {
    return "unexpected warning annotations: " + a.warnings.front();
  }
  if (ev.expects.count(ExpectKind::kNoInfo) && !a.infos.empty()) {
    return "unexpected info annotations: " + a.infos.front();
  }
  return std::nullopt;
}

std::optional<std::string> CheckExpectedFailure(const EvalCmd& ev, const core::Status& st) {
  const std::string& msg = st.message();
  if (!ev.expected_fail_message.empty() && ev.expected_fail_message != msg) {
    return "expected error " + GoQuote(ev.expected_fail_message) + ", but got: " + msg;
  }
  if (ev.expected_fail_regexp && !RE2::PartialMatch(msg, *ev.expected_fail_regexp)) {
    return "expected error matching " + GoQuote(ev.expected_fail_regexp->pattern()) +
           ", but got: " + msg;
  }
  auto it = ev.expects.find(ExpectKind::kFail);
  if (it != ev.expects.end() && !it->second.empty() && !it->second[0].Matches(msg)) {
    return "expected error matching " + GoQuote(it->second[0].Describe()) + ", but got: " + msg;
  }
  return std::nullopt;
}

// Calls whose value changes with the evaluation time even with @ (outside subqueries).
bool HasAtUnsafeCall(const Expr& e) {
  if (const auto* c = e.as<Call>()) {
    static const std::set<std::string_view> unsafe = {
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
        "month", "year", "predict_linear", "time", "timestamp"};
    if (unsafe.count(c->func->name)) return true;
    for (const auto& a : c->args) {
      if (HasAtUnsafeCall(*a)) return true;
    }
    return false;
  }
  if (const auto* a = e.as<AggregateExpr>()) {
    return HasAtUnsafeCall(*a->expr) || (a->param && HasAtUnsafeCall(*a->param));
  }
  if (const auto* b = e.as<BinaryExpr>()) return HasAtUnsafeCall(*b->lhs) || HasAtUnsafeCall(*b->rhs);
  if (const auto* u = e.as<UnaryExpr>()) return HasAtUnsafeCall(*u->expr);
  if (const auto* p = e.as<ParenExpr>()) return HasAtUnsafeCall(*p->expr);
  return false;  // selectors, literals; subqueries are rewritten as a whole
}

class Runner {
 public:
  Runner(std::string_view name, std::ostream& out, const EngineOptions& options)
      : name_(name), out_(out), engine_(options) {
    Clear();
  }

  TestCounts Run(std::string_view script) {
    ScriptParser parser(script);
    for (const Command& cmd : parser.Parse()) {
      switch (cmd.kind) {
        case Command::Kind::kClear:
          Clear();
          break;
        case Command::Kind::kLoad:
          Load(cmd.load);
          break;
        case Command::Kind::kBroken:
          out_ << name_ << ":" << cmd.line << ": " << cmd.error << "\n";
          if (cmd.is_eval) counts_.failed++;
          break;
        case Command::Kind::kEval: {
          std::optional<std::string> err = Eval(cmd.eval);
          if (err) {
            counts_.failed++;
            out_ << name_ << ":" << cmd.eval.line;
            if (!cmd.eval.upstream.empty()) out_ << " (" << cmd.eval.upstream << ")";
            out_ << ": " << cmd.eval.expr << ": " << *err << "\n";
          } else {
            counts_.passed++;
          }
          break;
        }
      }
    }
    return counts_;
  }

 private:
  void Clear() {
    store::StoreOptions opts;
    opts.retention = core::Duration::Millis(0);
    store_ = std::make_unique<store::Store>(opts);
  }

  void Load(const LoadCmd& load) {
    for (const auto& why : load.skipped) out_ << name_ << ":" << load.line << ": " << why << "\n";
    // Label order keeps runs deterministic.
    std::vector<const SeriesDesc*> order;
    for (const auto& s : load.series) order.push_back(&s);
    std::sort(order.begin(), order.end(),
              [](const SeriesDesc* a, const SeriesDesc* b) { return a->labels < b->labels; });
    store::Appender app = store_->NewAppender();
    for (const SeriesDesc* s : order) {
      const store::SeriesRef ref = app.GetOrCreate(s->labels);
      for (size_t i = 0; i < s->values.size(); ++i) {
        if (s->values[i].omitted) continue;
        app.Append(ref, static_cast<int64_t>(i) * load.interval_ms, s->values[i].value);
      }
    }
    const store::AppendStats stats = app.Commit();
    if (stats.out_of_order + stats.duplicate > 0) {
      out_ << name_ << ":" << load.line << ": load dropped " << stats.out_of_order + stats.duplicate
           << " out-of-order or duplicate samples\n";
    }
  }

  std::optional<std::string> Eval(const EvalCmd& ev) {
    auto expr = Parse(ev.expr);
    if (!expr.ok()) return expr.status().ToString();
    if (ev.is_range) return RangeEval(ev, **expr);
    std::vector<std::pair<std::string, int64_t>> queries = {{ev.expr, ev.eval_time}};
    if (!HasAtUnsafeCall(**expr)) {
      const std::string rewritten = PrintWithAt(**expr, ev.eval_time);
      const int64_t ts = ev.eval_time;
      std::vector<int64_t> times = {-10 * ts, 0, ts / 5, ts, 10 * ts};
      if (ts == 0) times = {-1000, 0, 1000};
      for (int64_t t : times) queries.emplace_back(rewritten, t);
    }
    for (const auto& [text, t] : queries) {
      if (auto err = InstantEval(ev, text, t)) {
        if (text != ev.expr) return *err + " (in the @-rewritten query " + text + " at " + std::to_string(t) + "ms)";
        return err;
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> RangeEval(const EvalCmd& ev, const Expr& expr) {
    const store::View view = store_->NewView();
    auto r = engine_.RangeQuery(expr, view, core::Time::FromUnixMillis(ev.start),
                                core::Time::FromUnixMillis(ev.end), core::Duration::Millis(ev.step));
    if (!r.ok()) {
      if (ev.IsFail()) return CheckExpectedFailure(ev, r.status());
      return "error evaluating query: " + r.status().ToString();
    }
    if (ev.IsFail()) return "expected error evaluating query but got none";
    if (auto e = CheckAnnotations(ev, r->annotations)) return e;
    return CompareResult(ev, r->value);
  }

  std::optional<std::string> InstantEval(const EvalCmd& ev, const std::string& text, int64_t t) {
    auto expr = Parse(text);
    if (!expr.ok()) return expr.status().ToString();
    const store::View view = store_->NewView();
    auto r = engine_.InstantQuery(**expr, view, core::Time::FromUnixMillis(t));
    if (!r.ok()) {
      if (ev.IsFail()) return CheckExpectedFailure(ev, r.status());
      return "error evaluating query: " + r.status().ToString();
    }
    if (ev.IsFail()) return "expected error evaluating query but got none";
    if (auto e = CheckAnnotations(ev, r->annotations)) return e;
    if (auto e = CompareResult(ev, r->value)) return e;
    if (ev.exclude_from_range) return std::nullopt;
    static const RE2 context_funcs(R"((start|end|range|step)\(\))");
    if (RE2::PartialMatch(text, context_funcs)) return std::nullopt;

    // Same expectations in range mode, at the middle of three steps.
    auto rr = engine_.RangeQuery(**expr, view, core::Time::FromUnixMillis(t - 60'000),
                                 core::Time::FromUnixMillis(t + 60'000), core::Duration::Minutes(1));
    if (!rr.ok()) return "error evaluating query in range mode: " + rr.status().ToString();
    if (ev.IsOrdered()) return std::nullopt;
    const auto& m = std::get<Matrix>(rr->value);
    for (size_t i = 1; i < m.size(); ++i) {
      if (m[i].labels < m[i - 1].labels) return "range mode: matrix results are not sorted";
    }
    Vector vec;
    for (const Series& s : m) {
      for (const auto& p : s.points) {
        if (p.t_ms == t) {
          vec.push_back(VectorSample{s.labels, p.t_ms, p.value});
          break;
        }
      }
    }
    std::optional<std::string> err;
    if (std::holds_alternative<Scalar>(r->value)) {
      if (vec.empty()) return "range mode: no scalar point at the evaluation time";
      err = CompareResult(ev, Scalar{t, vec[0].value});
    } else {
      err = CompareResult(ev, vec);
    }
    if (err) return "range mode: " + *err;
    return std::nullopt;
  }

  std::string name_;
  std::ostream& out_;
  Engine engine_;
  std::unique_ptr<store::Store> store_;
  TestCounts counts_;
};

}  // namespace

TestCounts RunTestScript(std::string_view name, std::string_view script, std::ostream& out,
                         const EngineOptions& options) {
  Runner runner(name, out, options);
  return runner.Run(script);
}

TestCounts RunTestFiles(const std::vector<std::string>& paths, std::ostream& out,
                        const EngineOptions& options) {
  TestCounts total;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      out << path << ": cannot read file\n";
      total.failed++;
      continue;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    const TestCounts c = RunTestScript(path, buf.str(), out, options);
    total.passed += c.passed;
    total.failed += c.failed;
  }
  out << total.passed << " passed, " << total.failed << " failed\n";
  return total;
}

}  // namespace amas::promql
