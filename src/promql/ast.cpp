#include "promql/ast.h"

#include <algorithm>
#include <array>

namespace amas::promql {
namespace {

using VT = ValueType;

// Every function Prometheus knows (parser/functions.go), so that a call we do
// not evaluate is "Unimplemented" rather than "unknown function".
const std::vector<FunctionDef>& FunctionTable() {
  static const std::vector<FunctionDef> table = [] {
    const VT v = VT::kVector, m = VT::kMatrix, s = VT::kScalar, str = VT::kString;
    std::vector<FunctionDef> t = {
        {"abs", {v}, 0, v},
        {"absent", {v}, 0, v},
        {"absent_over_time", {m}, 0, v},
        {"acos", {v}, 0, v},
        {"acosh", {v}, 0, v},
        {"asin", {v}, 0, v},
        {"asinh", {v}, 0, v},
        {"atan", {v}, 0, v},
        {"atanh", {v}, 0, v},
        {"avg_over_time", {m}, 0, v},
        {"ceil", {v}, 0, v},
        {"changes", {m}, 0, v},
        {"clamp", {v, s, s}, 0, v},
        {"clamp_max", {v, s}, 0, v},
        {"clamp_min", {v, s}, 0, v},
        {"cos", {v}, 0, v},
        {"cosh", {v}, 0, v},
        {"count_over_time", {m}, 0, v},
        {"days_in_month", {v}, 1, v},
        {"day_of_month", {v}, 1, v},
        {"day_of_week", {v}, 1, v},
        {"day_of_year", {v}, 1, v},
        {"deg", {v}, 0, v},
        {"delta", {m}, 0, v},
        {"deriv", {m}, 0, v},
        {"double_exponential_smoothing", {m, s, s}, 0, v, false},
        {"exp", {v}, 0, v},
        {"first_over_time", {m}, 0, v},
        {"floor", {v}, 0, v},
        {"histogram_avg", {v}, 0, v, false},
        {"histogram_count", {v}, 0, v, false},
        {"histogram_fraction", {s, s, v}, 0, v, false},
        {"histogram_quantile", {s, v}, 0, v},
        {"histogram_quantiles", {v, str, s, s}, 9, v, false},
        {"histogram_stddev", {v}, 0, v, false},
        {"histogram_stdvar", {v}, 0, v, false},
        {"histogram_sum", {v}, 0, v, false},
        {"hour", {v}, 1, v},
        {"idelta", {m}, 0, v},
        {"increase", {m}, 0, v},
        {"info", {v, v}, 1, v, false},
        {"irate", {m}, 0, v},
        {"label_join", {v, str, str, str}, -1, v},
        {"label_replace", {v, str, str, str, str}, 0, v},
        {"last_over_time", {m}, 0, v},
        {"ln", {v}, 0, v},
        {"log10", {v}, 0, v},
        {"log2", {v}, 0, v},
        {"mad_over_time", {m}, 0, v},
        {"max_over_time", {m}, 0, v},
        {"min_over_time", {m}, 0, v},
        {"max_of", {s, s}, 0, s, false},
        {"min_of", {s, s}, 0, s, false},
        {"minute", {v}, 1, v},
        {"month", {v}, 1, v},
        {"pi", {}, 0, s},
        {"predict_linear", {m, s}, 0, v},
        {"present_over_time", {m}, 0, v},
        {"quantile_over_time", {s, m}, 0, v},
        {"rad", {v}, 0, v},
        {"rate", {m}, 0, v},
        {"resets", {m}, 0, v},
        {"round", {v, s}, 1, v},
        {"scalar", {v}, 0, s},
        {"sgn", {v}, 0, v},
        {"sin", {v}, 0, v},
        {"sinh", {v}, 0, v},
        {"sort", {v}, 0, v},
        {"sort_by_label", {v, str}, -1, v, false},
        {"sort_by_label_desc", {v, str}, -1, v, false},
        {"sort_desc", {v}, 0, v},
        {"sqrt", {v}, 0, v},
        {"stddev_over_time", {m}, 0, v},
        {"stdvar_over_time", {m}, 0, v},
        {"sum_over_time", {m}, 0, v},
        {"tan", {v}, 0, v},
        {"tanh", {v}, 0, v},
        {"time", {}, 0, s},
        {"timestamp", {v}, 0, v},
        {"ts_of_first_over_time", {m}, 0, v},
        {"ts_of_last_over_time", {m}, 0, v},
        {"ts_of_max_over_time", {m}, 0, v},
        {"ts_of_min_over_time", {m}, 0, v},
        {"vector", {s}, 0, v},
        {"year", {v}, 1, v},
    };
    std::sort(t.begin(), t.end(), [](const FunctionDef& a, const FunctionDef& b) {
      return a.name < b.name;
    });
    return t;
  }();
  return table;
}

}  // namespace

std::string_view DocumentedType(ValueType type) {
  switch (type) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "instant vector";
    case ValueType::kMatrix: return "range vector";
    case ValueType::kString: return "string";
    case ValueType::kNone: break;
  }
  return "none";
}

std::string_view BinOpString(BinOp op) {
  switch (op) {
    case BinOp::kAdd: return "+";
    case BinOp::kSub: return "-";
    case BinOp::kMul: return "*";
    case BinOp::kDiv: return "/";
    case BinOp::kMod: return "%";
    case BinOp::kPow: return "^";
    case BinOp::kAtan2: return "atan2";
    case BinOp::kEqlc: return "==";
    case BinOp::kNeq: return "!=";
    case BinOp::kGtr: return ">";
    case BinOp::kLss: return "<";
    case BinOp::kGte: return ">=";
    case BinOp::kLte: return "<=";
    case BinOp::kAnd: return "and";
    case BinOp::kOr: return "or";
    case BinOp::kUnless: return "unless";
  }
  return "?";
}

bool IsComparison(BinOp op) {
  switch (op) {
    case BinOp::kEqlc:
    case BinOp::kNeq:
    case BinOp::kGtr:
    case BinOp::kLss:
    case BinOp::kGte:
    case BinOp::kLte:
      return true;
    default:
      return false;
  }
}

bool IsSetOperator(BinOp op) {
  return op == BinOp::kAnd || op == BinOp::kOr || op == BinOp::kUnless;
}

std::string_view AggOpString(AggOp op) {
  switch (op) {
    case AggOp::kSum: return "sum";
    case AggOp::kAvg: return "avg";
    case AggOp::kCount: return "count";
    case AggOp::kMin: return "min";
    case AggOp::kMax: return "max";
    case AggOp::kGroup: return "group";
    case AggOp::kStddev: return "stddev";
    case AggOp::kStdvar: return "stdvar";
    case AggOp::kTopk: return "topk";
    case AggOp::kBottomk: return "bottomk";
    case AggOp::kCountValues: return "count_values";
    case AggOp::kQuantile: return "quantile";
    case AggOp::kLimitk: return "limitk";
    case AggOp::kLimitRatio: return "limit_ratio";
  }
  return "?";
}

bool AggTakesParam(AggOp op) {
  switch (op) {
    case AggOp::kTopk:
    case AggOp::kBottomk:
    case AggOp::kCountValues:
    case AggOp::kQuantile:
    case AggOp::kLimitk:
    case AggOp::kLimitRatio:
      return true;
    default:
      return false;
  }
}

const FunctionDef* FindFunction(std::string_view name) {
  const auto& t = FunctionTable();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const FunctionDef& f, std::string_view n) { return f.name < n; });
  if (it == t.end() || it->name != name) return nullptr;
  return &*it;
}

ValueType Expr::type() const {
  struct Visitor {
    ValueType operator()(const NumberLiteral&) const { return ValueType::kScalar; }
    ValueType operator()(const StringLiteral&) const { return ValueType::kString; }
    ValueType operator()(const VectorSelector&) const { return ValueType::kVector; }
    ValueType operator()(const MatrixSelector&) const { return ValueType::kMatrix; }
    ValueType operator()(const SubqueryExpr&) const { return ValueType::kMatrix; }
    ValueType operator()(const Call& c) const {
      return c.func ? c.func->return_type : ValueType::kNone;
    }
    ValueType operator()(const AggregateExpr&) const { return ValueType::kVector; }
    ValueType operator()(const BinaryExpr& b) const {
      if (b.lhs->type() == ValueType::kScalar && b.rhs->type() == ValueType::kScalar) {
        return ValueType::kScalar;
      }
      return ValueType::kVector;
    }
    ValueType operator()(const UnaryExpr& u) const { return u.expr->type(); }
    ValueType operator()(const ParenExpr& p) const { return p.expr->type(); }
  };
  return std::visit(Visitor{}, node);
}

std::string PositionString(std::string_view source, int32_t offset) {
  if (source.empty()) return "unknown position";
  if (offset < 0 || static_cast<size_t>(offset) > source.size()) return "invalid position";
  const std::string_view before = source.substr(0, static_cast<size_t>(offset));
  const size_t last_break = before.rfind('\n');
  const long line = std::count(before.begin(), before.end(), '\n');
  const long col = last_break == std::string_view::npos
                       ? static_cast<long>(offset) + 1
                       : static_cast<long>(offset) - static_cast<long>(last_break);
  return std::to_string(line + 1) + ":" + std::to_string(col);
}

}  // namespace amas::promql
