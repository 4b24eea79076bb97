// corpus.h: expressions shared by the printer round-trip and fuzz tests, and
// a structural dump of a tree (positions left out, matcher order ignored).
#ifndef AMAS_TEST_PROMQL_CORPUS_H_
#define AMAS_TEST_PROMQL_CORPUS_H_

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "promql/ast.h"
#include "promql/go_strconv.h"

namespace amas::promql::testing {

inline const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> corpus = {
      "1", "-1", "+Inf", "-Inf", "NaN", ".5", "1e300", "1e-300", "0x1F", "1_000", "\"str\\n\"",
      "`raw`", "'single'", "- - - 1", "-1^2", "2 ^ 3 ^ 2", "1 + 2 * 3 % 4 - 5 / 6",
      "1 < bool 2", "(1 + 2) * 3", "foo", "foo{}[5m]", "foo{a=\"b\"}", "foo{a!=\"b\",c=~\"d.*\",e!~\"f\"}",
      "{__name__=~\"a|b\"}", "{\"utf8.name\"}", "foo offset 5m", "foo offset -1h30m",
      "foo @ 100", "foo @ -1.5", "foo @ start()", "foo @ end() offset 1m", "foo[10]",
      "foo[1m30s] offset 1m @ 50", "rate(foo[5m])", "rate(foo{job=\"x\"}[5m] offset 1w)",
      "rate(foo[5m])[30m:1m]", "max_over_time(rate(foo[1m])[5m:])", "foo[1h:5m] offset 10m",
      "sum(foo)", "sum by (a, b) (foo)", "sum without (a) (foo)", "sum by () (foo)",
      "count_values(\"v\", foo)", "topk(3, foo)", "bottomk by (a) (2, foo)",
      "quantile(0.9, foo)", "avg(foo) by (job)", "stddev without (x) (foo)", "group(foo)",
      "a + b", "a - on(x) b", "a * ignoring(x, y) b", "a / on(x) group_left(y) b",
      "a / on(x) group_right b", "a and b", "a or on() b", "a unless ignoring(z) b",
      "a > 1", "a >= bool b", "1 == bool 2", "a atan2 b", "-a", "+a", "-(a + b)",
      "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
      "label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")",
      "label_join(foo, \"d\", \",\", \"a\", \"b\")", "round(foo, 0.1)", "clamp(foo, 0, 1)",
      "absent(foo{a=\"b\"})", "absent_over_time(foo[5m])", "vector(1)", "scalar(foo)",
      "time()", "pi()", "timestamp(foo)", "sort_desc(foo)", "day_of_week()", "hour(foo)",
      "predict_linear(foo[5m], 3600)", "quantile_over_time(0.5, foo[5m])",
      "sum(rate(a[5m])) / sum(rate(b[5m])) > 0.05",
      "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) > 0.5",
      "topk(20, sum by (namespace, pod) (rate(a[5m]) + rate(b[5m]))) > 1.95e5",
      "sum by (node) (a * on (namespace, pod) group_left () (b == 1)) / on (node) c > 0.9",
      "foo and on(by, offset) bar", "by", "sum", "offset", "start",
  };
  return corpus;
}

inline std::string MatcherString(const store::Matcher& m) {
  const char* ops[] = {"=", "!=", "=~", "!~"};
  return m.name() + ops[static_cast<int>(m.type())] + GoQuote(m.value());
}

inline std::string SelectorDump(const VectorSelector& vs) {
  std::vector<std::string> ms;
  for (const auto& m : vs.matchers) ms.push_back(MatcherString(m));
  std::sort(ms.begin(), ms.end());
  std::string out = "sel[" + vs.name + "|";
  for (const auto& m : ms) out += m + ";";
  return out + "|o" + std::to_string(vs.offset_ms) + "|@" + std::to_string(int(vs.at)) + ":" +
         std::to_string(vs.at_ms) + "]";
}

inline std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += s + ",";
  return out + "]";
}

// Everything but positions; NaN compares equal to itself through its text.
inline std::string Dump(const Expr& e) {
  if (const auto* n = e.as<NumberLiteral>()) {
    // The sign of zero matters (1/-0); the sign of NaN does not.
    const bool neg_zero = n->value == 0 && std::signbit(n->value);
    return "num(" + FormatFloat(n->value) + (neg_zero ? "-" : "") + ")";
  }
  if (const auto* s = e.as<StringLiteral>()) return "str(" + GoQuote(s->value) + ")";
  if (const auto* vs = e.as<VectorSelector>()) return SelectorDump(*vs);
  if (const auto* ms = e.as<MatrixSelector>()) {
    return "range(" + SelectorDump(ms->selector) + "," + std::to_string(ms->range_ms) + ")";
  }
  if (const auto* sq = e.as<SubqueryExpr>()) {
    return "subq(" + Dump(*sq->expr) + "," + std::to_string(sq->range_ms) + "," +
           std::to_string(sq->step_ms) + ",o" + std::to_string(sq->offset_ms) + ",@" +
           std::to_string(int(sq->at)) + ":" + std::to_string(sq->at_ms) + ")";
  }
  if (const auto* c = e.as<Call>()) {
    std::string out = "call(" + std::string(c->func->name);
    for (const auto& a : c->args) out += "," + Dump(*a);
    return out + ")";
  }
  if (const auto* a = e.as<AggregateExpr>()) {
    return "agg(" + std::string(AggOpString(a->op)) + "," + (a->without ? "without" : "by") +
           List(a->grouping) + "," + (a->param ? Dump(*a->param) : "-") + "," + Dump(*a->expr) +
           ")";
  }
  if (const auto* b = e.as<BinaryExpr>()) {
    const VectorMatching& m = b->matching;
    return "bin(" + std::string(BinOpString(b->op)) + (b->return_bool ? " bool" : "") + ",card" +
           std::to_string(int(m.card)) + (m.on ? ",on" : ",ign") + List(m.matching_labels) +
           List(m.include) + "," + Dump(*b->lhs) + "," + Dump(*b->rhs) + ")";
  }
  if (const auto* u = e.as<UnaryExpr>()) return std::string(u->negate ? "neg(" : "pos(") + Dump(*u->expr) + ")";
  if (const auto* p = e.as<ParenExpr>()) return "paren(" + Dump(*p->expr) + ")";
  return "?";
}

}  // namespace amas::promql::testing

#endif  // AMAS_TEST_PROMQL_CORPUS_H_
