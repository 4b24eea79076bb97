// printer.cpp: Print(), the canonical text of a tree, as Prometheus's
// parser/printer.go writes it. Parentheses live in the tree (ParenExpr), so
// printing never needs to add any and Parse(Print(e)) rebuilds e.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "promql/ast.h"
#include "promql/go_strconv.h"

namespace amas::promql {
namespace {

bool IsLegacyName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (i > 0 && c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

std::string_view MatchOp(store::Matcher::Type t) {
  switch (t) {
    case store::Matcher::Type::kEqual: return "=";
    case store::Matcher::Type::kNotEqual: return "!=";
    case store::Matcher::Type::kRegexMatch: return "=~";
    case store::Matcher::Type::kRegexNoMatch: return "!~";
  }
  return "=";
}

void AppendLabelList(std::string* out, const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->append(", ");
    out->append(IsLegacyName(names[i]) ? names[i] : GoQuote(names[i]));
  }
}

std::string DurationString(int64_t ms) {
  return core::Duration::Millis(ms).ToString();
}

std::string AtString(AtKind at, int64_t at_ms) {
  switch (at) {
    case AtKind::kTimestamp: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " @ %.3f", static_cast<double>(at_ms) / 1000.0);
      return buf;
    }
    case AtKind::kStart: return " @ start()";
    case AtKind::kEnd: return " @ end()";
    case AtKind::kNone: break;
  }
  return "";
}

std::string OffsetString(int64_t offset_ms) {
  if (offset_ms > 0) return " offset " + DurationString(offset_ms);
  if (offset_ms < 0) return " offset -" + DurationString(-offset_ms);
  return "";
}

// The selector without its @ and offset.
std::string SelectorBody(const VectorSelector& vs) {
  std::vector<std::string> parts;
  for (const auto& m : vs.matchers) {
    if (m.name() == "__name__" && m.type() == store::Matcher::Type::kEqual &&
        m.value() == vs.name && !m.value().empty()) {
      continue;
    }
    std::string s = IsLegacyName(m.name()) ? m.name() : GoQuote(m.name());
    s.append(MatchOp(m.type()));
    s.append(GoQuote(m.value()));
    parts.push_back(std::move(s));
  }
  std::string out = vs.name;
  if (!parts.empty()) {
    std::sort(parts.begin(), parts.end());
    out.push_back('{');
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(parts[i]);
    }
    out.push_back('}');
  }
  return out;
}

std::string MatchingString(const BinaryExpr& b) {
  const VectorMatching& vm = b.matching;
  std::string out;
  const bool grouped = vm.card == VectorMatching::Card::kManyToOne ||
                       vm.card == VectorMatching::Card::kOneToMany;
  if (!vm.matching_labels.empty() || vm.on || grouped) {
    out.append(vm.on ? " on (" : " ignoring (");
    AppendLabelList(&out, vm.matching_labels);
    out.push_back(')');
  }
  if (grouped) {
    out.append(vm.card == VectorMatching::Card::kManyToOne ? " group_left (" : " group_right (");
    AppendLabelList(&out, vm.include);
    out.push_back(')');
  }
  return out;
}

struct Printer {
  // promqltest's @-invariance rewrite: `@ <t>` on selectors and subqueries
  // that have none; selectors inside a subquery are left alone.
  const int64_t* force_at = nullptr;

  std::string Sub(const Expr& e) const { return std::visit(*this, e.node); }
  std::string At(AtKind at, int64_t at_ms) const {
    // As upstream: start()/end() carry no timestamp yet, so they are replaced too.
    if (force_at && at != AtKind::kTimestamp) return AtString(AtKind::kTimestamp, *force_at);
    return AtString(at, at_ms);
  }

  std::string operator()(const NumberLiteral& n) const {
    // "+Inf" would read back as unary plus, which binds looser than ^.
    if (std::isinf(n.value) && n.value > 0) return "Inf";
    return FormatFloat(n.value);
  }
  std::string operator()(const StringLiteral& s) const { return GoQuote(s.value); }
  std::string operator()(const VectorSelector& vs) const {
    return SelectorBody(vs) + At(vs.at, vs.at_ms) + OffsetString(vs.offset_ms);
  }
  std::string operator()(const MatrixSelector& ms) const {
    return SelectorBody(ms.selector) + "[" + DurationString(ms.range_ms) + "]" +
           At(ms.selector.at, ms.selector.at_ms) + OffsetString(ms.selector.offset_ms);
  }
  std::string operator()(const SubqueryExpr& sq) const {
    std::string out = Print(*sq.expr) + "[" + DurationString(sq.range_ms) + ":";
    if (sq.step_ms != 0) out += DurationString(sq.step_ms);
    out += "]" + At(sq.at, sq.at_ms) + OffsetString(sq.offset_ms);
    return out;
  }
  std::string operator()(const Call& c) const {
    std::string out(c.func->name);
    out.push_back('(');
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i > 0) out.append(", ");
      out.append(Sub(*c.args[i]));
    }
    out.push_back(')');
    return out;
  }
  std::string operator()(const AggregateExpr& a) const {
    std::string out(AggOpString(a.op));
    if (a.without) {
      out.append(" without (");
      AppendLabelList(&out, a.grouping);
      out.append(") ");
    } else if (!a.grouping.empty()) {
      out.append(" by (");
      AppendLabelList(&out, a.grouping);
      out.append(") ");
    }
    out.push_back('(');
    if (a.param) out.append(Sub(*a.param)).append(", ");
    out.append(Sub(*a.expr));
    out.push_back(')');
    return out;
  }
  std::string operator()(const BinaryExpr& b) const {
    std::string out = Sub(*b.lhs);
    out.push_back(' ');
    out.append(BinOpString(b.op));
    if (b.return_bool) out.append(" bool");
    out.append(MatchingString(b));
    out.push_back(' ');
    out.append(Sub(*b.rhs));
    return out;
  }
  std::string operator()(const UnaryExpr& u) const {
    return (u.negate ? "-" : "+") + Sub(*u.expr);
  }
  std::string operator()(const ParenExpr& p) const { return "(" + Sub(*p.expr) + ")"; }
};

}  // namespace

std::string Print(const Expr& expr) { return std::visit(Printer{}, expr.node); }

std::string PrintWithAt(const Expr& expr, int64_t at_ms) {
  Printer p;
  p.force_at = &at_ms;
  return std::visit(p, expr.node);
}

}  // namespace amas::promql
