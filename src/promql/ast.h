// ast.h: the PromQL syntax tree, as Prometheus's parser/ast.go shapes it.
// A tree is built once by Parse() and is immutable afterwards: any number of
// threads may evaluate or print it. Children are shared, never copied.
// Offsets and ranges are whole milliseconds; positions are byte offsets into
// the parsed text, kept so errors and annotations can say "line:col".
#ifndef AMAS_PROMQL_AST_H_
#define AMAS_PROMQL_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "promql/promql.h"
#include "store/store.h"

namespace amas::promql {

enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };
// "scalar", "instant vector", "range vector", "string", "none".
std::string_view DocumentedType(ValueType type);

struct PosRange {
  int32_t start = 0;  // byte offset of the first character
  int32_t end = 0;    // byte offset one past the last character
};

enum class BinOp {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kAtan2,
  kEqlc, kNeq, kGtr, kLss, kGte, kLte,
  kAnd, kOr, kUnless,
};
std::string_view BinOpString(BinOp op);
bool IsComparison(BinOp op);
bool IsSetOperator(BinOp op);

enum class AggOp {
  kSum, kAvg, kCount, kMin, kMax, kGroup, kStddev, kStdvar,
  kTopk, kBottomk, kCountValues, kQuantile, kLimitk, kLimitRatio,
};
std::string_view AggOpString(AggOp op);
bool AggTakesParam(AggOp op);

// An @ modifier: none, a fixed time, or the query's start()/end().
enum class AtKind { kNone, kTimestamp, kStart, kEnd };

struct FunctionDef {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // 0: exactly arg_types; -1: the last type repeats without limit;
  // n > 0: up to n more of the last type (Prometheus's Function.Variadic).
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  bool supported = true;  // false: known to Prometheus, Unimplemented here
};
// nullptr when Prometheus does not know the name either.
const FunctionDef* FindFunction(std::string_view name);

struct NumberLiteral {
  double value = 0;
};

struct StringLiteral {
  std::string value;
};

struct VectorSelector {
  std::string name;                      // "" when named only inside the braces
  std::vector<store::Matcher> matchers;  // includes the name matcher when named
  int64_t offset_ms = 0;
  AtKind at = AtKind::kNone;
  int64_t at_ms = 0;  // valid when at == kTimestamp
};

struct MatrixSelector {
  VectorSelector selector;  // carries the offset and @ of the range
  PosRange selector_pos;
  int64_t range_ms = 0;
};

struct SubqueryExpr {
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0: the engine's default (1m)
  int64_t offset_ms = 0;
  AtKind at = AtKind::kNone;
  int64_t at_ms = 0;
};

struct Call {
  const FunctionDef* func = nullptr;
  std::vector<ExprPtr> args;
};

struct AggregateExpr {
  AggOp op = AggOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile/count_values only
  std::vector<std::string> grouping;
  bool without = false;
};

struct VectorMatching {
  enum class Card { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
  Card card = Card::kOneToOne;
  std::vector<std::string> matching_labels;  // on(...) or ignoring(...)
  bool on = false;
  std::vector<std::string> include;  // group_left(...)/group_right(...)
};

struct BinaryExpr {
  BinOp op = BinOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  // Present as written; the evaluator uses it only between two vectors.
  VectorMatching matching;
};

struct UnaryExpr {
  bool negate = false;  // '-'; '+' is kept only to print what was written
  ExprPtr expr;
};

struct ParenExpr {
  ExprPtr expr;
};

struct Expr {
  using Node = std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector,
                            SubqueryExpr, Call, AggregateExpr, BinaryExpr, UnaryExpr, ParenExpr>;
  Node node;
  PosRange pos;
  // The text that was parsed, shared by every node of one tree (for positions).
  std::shared_ptr<const std::string> source;

  ValueType type() const;
  template <typename T>
  const T* as() const {
    return std::get_if<T>(&node);
  }
};

// Print() with `@ <at>` on every selector and subquery without a fixed @
// timestamp (start()/end() replaced; selectors inside subqueries untouched):
// promqltest's @-invariance rewrite.
std::string PrintWithAt(const Expr& expr, int64_t at_ms);

// "line:col" of a byte offset, as Prometheus's PositionRange.StartPosInput.
std::string PositionString(std::string_view source, int32_t offset);

}  // namespace amas::promql

#endif  // AMAS_PROMQL_AST_H_
