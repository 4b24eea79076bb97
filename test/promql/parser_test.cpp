#include "promql/parser.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "promql/go_strconv.h"

namespace amas::promql {
namespace {

// An S-expression of the tree, to test structure (precedence, folding).
std::string Shape(const Expr& e) {
  if (const auto* n = e.as<NumberLiteral>()) return FormatFloat(n->value);
  if (const auto* s = e.as<StringLiteral>()) return GoQuote(s->value);
  if (const auto* vs = e.as<VectorSelector>()) {
    std::string out = vs->name.empty() ? "{}" : vs->name;
    if (vs->offset_ms != 0) out += " offset=" + std::to_string(vs->offset_ms);
    if (vs->at == AtKind::kTimestamp) out += " @" + std::to_string(vs->at_ms);
    if (vs->at == AtKind::kStart) out += " @start";
    if (vs->at == AtKind::kEnd) out += " @end";
    return out;
  }
  if (const auto* ms = e.as<MatrixSelector>()) {
    return "(range " + ms->selector.name + " " + std::to_string(ms->range_ms) +
           (ms->selector.offset_ms ? " offset=" + std::to_string(ms->selector.offset_ms) : "") +
           ")";
  }
  if (const auto* sq = e.as<SubqueryExpr>()) {
    return "(subquery " + Shape(*sq->expr) + " " + std::to_string(sq->range_ms) + " " +
           std::to_string(sq->step_ms) + ")";
  }
  if (const auto* c = e.as<Call>()) {
    std::string out = "(" + std::string(c->func->name);
    for (const auto& a : c->args) out += " " + Shape(*a);
    return out + ")";
  }
  if (const auto* a = e.as<AggregateExpr>()) {
    std::string out = "(" + std::string(AggOpString(a->op));
    if (!a->grouping.empty() || a->without) {
      out += a->without ? " without[" : " by[";
      for (const auto& g : a->grouping) out += g + ",";
      out += "]";
    }
    if (a->param) out += " " + Shape(*a->param);
    return out + " " + Shape(*a->expr) + ")";
  }
  if (const auto* b = e.as<BinaryExpr>()) {
    std::string op(BinOpString(b->op));
    if (b->return_bool) op += " bool";
    return "(" + op + " " + Shape(*b->lhs) + " " + Shape(*b->rhs) + ")";
  }
  if (const auto* u = e.as<UnaryExpr>()) return "(" + std::string(u->negate ? "-" : "+") + " " + Shape(*u->expr) + ")";
  if (const auto* p = e.as<ParenExpr>()) return "(paren " + Shape(*p->expr) + ")";
  return "?";
}

std::string ShapeOf(std::string_view input) {
  auto e = ParseExpr(input);
  if (!e.ok()) return "ERROR " + e.status().ToString();
  return Shape(**e);
}

std::string ErrorOf(std::string_view input) {
  auto e = ParseExpr(input);
  if (e.ok()) return "OK";
  return e.status().message();
}

TEST_CASE("numbers fold signs and read Go syntax") {
  CHECK(ShapeOf("1") == "1");
  CHECK(ShapeOf("+Inf") == "+Inf");
  CHECK(ShapeOf("-Inf") == "-Inf");
  CHECK(ShapeOf(".5") == "0.5");
  CHECK(ShapeOf("5.") == "5");
  CHECK(ShapeOf("0xc") == "12");
  CHECK(ShapeOf("0755") == "493");
  CHECK(ShapeOf("-0755") == "-493");
  CHECK(ShapeOf("+5.5e-3") == "0.0055");
  CHECK(ShapeOf("1_000") == "1000");
  CHECK(ShapeOf("- - - 1") == "-1");
  CHECK(ShapeOf("1h") == "3600");  // a duration where a number goes means seconds
}

TEST_CASE("operators follow Prometheus's precedence and associativity") {
  CHECK(ShapeOf("-1^2") == "(- (^ 1 2))");
  CHECK(ShapeOf("-1*2") == "(* -1 2)");
  CHECK(ShapeOf("-1^-2") == "(- (^ 1 -2))");
  CHECK(ShapeOf("+1 + -2 * 1") == "(+ 1 (* -2 1))");
  CHECK(ShapeOf("2 ^ 3 ^ 2") == "(^ 2 (^ 3 2))");
  CHECK(ShapeOf("a - b - c") == "(- (- a b) c)");
  CHECK(ShapeOf("1 < bool 2 - 1 * 2") == "(< bool 1 (- 2 (* 1 2)))");
  CHECK(ShapeOf("foo + bar or bla and blub") == "(or (+ foo bar) (and bla blub))");
  CHECK(ShapeOf("foo and bar unless baz or qux") == "(or (unless (and foo bar) baz) qux)");
  CHECK(ShapeOf("a > b + c") == "(> a (+ b c))");
  CHECK(ShapeOf("a % b atan2 c") == "(atan2 (% a b) c)");
  CHECK(ShapeOf("-a * b") == "(* (- a) b)");
  CHECK(ShapeOf("-a offset 5m") == "(- a offset=300000)");
  CHECK(ShapeOf("metric1_total offset -2 ^ 2") == "(^ metric1_total offset=-2000 2)");
  CHECK(ShapeOf("a + b offset 1m") == "(+ a b offset=60000)");
}

TEST_CASE("selectors, ranges, subqueries and modifiers") {
  CHECK(ShapeOf("foo[5m]") == "(range foo 300000)");
  CHECK(ShapeOf("foo[10]") == "(range foo 10000)");
  CHECK(ShapeOf("foo[5m] offset 1m") == "(range foo 300000 offset=60000)");
  CHECK(ShapeOf("rate(foo[5m])[30m:1m]") == "(subquery (rate (range foo 300000)) 1800000 60000)");
  CHECK(ShapeOf("foo[30m:]") == "(subquery foo 1800000 0)");
  CHECK(ShapeOf("foo @ 100") == "foo @100000");
  CHECK(ShapeOf("foo @ 1.5") == "foo @1500");
  CHECK(ShapeOf("foo @ -100") == "foo @-100000");
  CHECK(ShapeOf("foo @ 100s") == "foo @100000");
  CHECK(ShapeOf("foo @ start()") == "foo @start");
  CHECK(ShapeOf("foo @ end() offset 5m") == "foo offset=300000 @end");
  CHECK(ShapeOf("{__name__=~\"a|b\"}") == "{}");
  CHECK(ShapeOf("offset{step=\"1s\"}[5m]") == "(range offset 300000)");
  CHECK(ShapeOf("sum") == "sum");  // an aggregator name alone is a metric
  CHECK(ShapeOf("foo * sum") == "(* foo sum)");
  CHECK(ShapeOf("{\"utf8.metric\"}") == "{}");
}

TEST_CASE("aggregations and calls") {
  CHECK(ShapeOf("sum by (job) (x)") == "(sum by[job,] x)");
  CHECK(ShapeOf("sum(x) by (job, group)") == "(sum by[job,group,] x)");
  CHECK(ShapeOf("sum without () (x)") == "(sum without[] x)");
  CHECK(ShapeOf("topk(3, x)") == "(topk 3 x)");
  CHECK(ShapeOf("count_values(\"v\", x)") == "(count_values \"v\" x)");
  CHECK(ShapeOf("sum by (by, sum, offset) (x)") == "(sum by[by,sum,offset,] x)");
  CHECK(ShapeOf("histogram_quantile(0.9, rate(x_bucket[5m]))") ==
        "(histogram_quantile 0.9 (rate (range x_bucket 300000)))");
  CHECK(ShapeOf("round(x)") == "(round x)");
  CHECK(ShapeOf("time()") == "(time)");
}

TEST_CASE("parse errors are positioned like Prometheus's") {
  CHECK(ErrorOf("") == "unknown position: parse error: no expression found in input");
  CHECK(ErrorOf("# just a comment\n\n") ==
        "1:1: parse error: no expression found in input");
  CHECK(ErrorOf("1+") == "1:3: parse error: unexpected end of input");
  CHECK(ErrorOf(".") == "1:1: parse error: unexpected character: '.'");
  CHECK(ErrorOf("2.5.") == "1:1: parse error: bad number or duration syntax: \"2.5.\"");
  CHECK(ErrorOf("100..4") == "1:1: parse error: bad number or duration syntax: \"100..\"");
  CHECK(ErrorOf("0deadbeef") == "1:1: parse error: bad number or duration syntax: \"0de\"");
  CHECK(ErrorOf("1 /") == "1:4: parse error: unexpected end of input");
  CHECK(ErrorOf("*1") == "1:1: parse error: unexpected <op:*>");
  CHECK(ErrorOf("(1))") == "1:5: parse error: unexpected right parenthesis ')'");
  CHECK(ErrorOf("((1)") == "1:5: parse error: unclosed left parenthesis");
  CHECK(ErrorOf("(") == "1:2: parse error: unclosed left parenthesis");
  CHECK(ErrorOf("1 and 1") ==
        "1:1: parse error: set operator \"and\" not allowed in binary scalar expression");
  CHECK(ErrorOf("1 == 1") == "1:3: parse error: comparisons between scalars must use BOOL modifier");
  CHECK(ErrorOf("1 !~ 1") == "1:3: parse error: unexpected character after '!': '~'");
  CHECK(ErrorOf("-\"string\"") ==
        "1:1: parse error: unary expression only allowed on expressions of type scalar or "
        "instant vector, got \"string\"");
  CHECK(ErrorOf("-test[5m]") ==
        "1:1: parse error: unary expression only allowed on expressions of type scalar or "
        "instant vector, got \"range vector\"");
  CHECK(ErrorOf("@@") == "1:1: parse error: unexpected <op:@>");
  CHECK(ErrorOf("1 offset 1d") ==
        "1:1: parse error: offset modifier must be preceded by an instant vector selector or "
        "range vector selector or a subquery");
  CHECK(ErrorOf("foo offset 1s offset 2s") ==
        "1:1: parse error: offset may not be set multiple times");
  CHECK(ErrorOf("a - on(b) ignoring(c) d") == "1:11: parse error: unexpected <ignoring>");
  CHECK(ErrorOf("foo * * bar") == "1:7: parse error: unexpected <op:*>");
  CHECK(ErrorOf("sum(x) by") == "1:10: parse error: unexpected end of input in grouping opts, expected \"(\"");
  CHECK(ErrorOf("sum by (a b) (x)") ==
        "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\"");
  CHECK(ErrorOf("foo{a=1}") == "1:7: parse error: unexpected character inside braces: '1'");
  CHECK(ErrorOf("foo{a=b}") ==
        "1:7: parse error: unexpected identifier \"b\" in label matching, expected string");
  CHECK(ErrorOf("foo{a}") ==
        "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator");
  CHECK(ErrorOf("foo{=\"a\"}") ==
        "1:5: parse error: unexpected \"=\" in label matching, expected identifier or \"}\"");
  CHECK(ErrorOf("foo[]") == "1:5: parse error: unexpected \"]\" in subquery selector, expected duration");
  CHECK(ErrorOf("foo offset") == "1:11: parse error: unexpected end of input in offset, expected duration");
  CHECK(ErrorOf("rate(x[5m],)") == "1:11: parse error: trailing commas not allowed in function call args");
  CHECK(ErrorOf("nosuchfn(x)") == "1:1: parse error: unknown function with name \"nosuchfn\"");
  CHECK(ErrorOf("rate(x)") ==
        "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector");
  CHECK(ErrorOf("rate(x[5m], x)") ==
        "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2");
  CHECK(ErrorOf("label_join(x)") ==
        "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1");
  CHECK(ErrorOf("round(x, 1, 2)") ==
        "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3");
  CHECK(ErrorOf("sum(x, y)") ==
        "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2");
  CHECK(ErrorOf("topk(x)") ==
        "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1");
  CHECK(ErrorOf("sum(x[5m])") ==
        "1:5: parse error: expected type instant vector in aggregation expression, got range vector");
  CHECK(ErrorOf("{}") == "1:1: parse error: vector selector must contain at least one non-empty matcher");
  CHECK(ErrorOf("{a=~\".*\"}") ==
        "1:1: parse error: vector selector must contain at least one non-empty matcher");
  CHECK(ErrorOf("foo{__name__=\"bar\"}") ==
        "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"");
  CHECK(ErrorOf("foo offset 5m[10m]") == "1:14: parse error: no offset modifiers allowed before range");
  CHECK(ErrorOf("(foo)[5m]") == "1:6: parse error: ranges only allowed for vector selectors");
  CHECK(ErrorOf("x + bool y") == "1:3: parse error: bool modifier can only be used on comparison operators");
  CHECK(ErrorOf("x and on(a) group_left b") ==
        "1:1: parse error: no grouping allowed for \"and\" operation");
  CHECK(ErrorOf("1 + on(a) x") ==
        "1:1: parse error: vector matching only allowed between instant vectors");
  CHECK(ErrorOf("x * on(a) group_left(a) y") ==
        "1:3: parse error: label \"a\" must not occur in ON and GROUP clause at once");
  CHECK(ErrorOf("foo @ start") == "1:12: parse error: unexpected end of input");
  CHECK(ErrorOf("foo @ bar") == "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp");
  CHECK(ErrorOf("foo{a=~\"(\"}") != "OK");
  CHECK(ErrorOf("a\n+ *") == "2:3: parse error: unexpected <op:*>");
}

TEST_CASE("syntax outside the subset is Unimplemented, never misread") {
  for (const char* q : {"histogram_count(x)", "sort_by_label(x, \"a\")", "limitk(1, x)",
                        "foo[5m+1m]", "foo offset (1m)", "rate(foo[5m] anchored)",
                        "a + fill(0) b", "step()", "info(x)", "foo[step()]", "foo[5m::1m]"}) {
    auto e = ParseExpr(q);
    INFO(q);
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().IsUnimplemented());
  }
}

TEST_CASE("deep nesting is an error, not a stack overflow") {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  auto e = ParseExpr(deep);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().find("nesting too deep") != std::string::npos);
}

}  // namespace
}  // namespace amas::promql
