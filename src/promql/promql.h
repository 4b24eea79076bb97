// promql.h: PromQL for the float subset. Depends on core and store (read-only).
// Parse() turns text into an immutable AST that any number of threads may
// share; errors are positioned as Prometheus positions them
// ("1:15: parse error: unexpected <op:*>"). Engine evaluates an expression
// over a store::View at a time it is given, with the 5m lookback and
// Prometheus's staleness rules. Anything outside the supported subset is
// Unimplemented at parse time, never a wrong answer. No I/O, no clock.
#ifndef AMAS_PROMQL_PROMQL_H_
#define AMAS_PROMQL_PROMQL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/core.h"
#include "store/store.h"

namespace amas::promql {

struct Expr;  // the AST (ast.h); shared and immutable once parsed
using ExprPtr = std::shared_ptr<const Expr>;

core::Result<ExprPtr> Parse(std::string_view input);
// Canonical text; Parse(Print(e)) yields an equal tree.
std::string Print(const Expr& expr);

struct Scalar {
  int64_t t_ms = 0;
  double value = 0;
};
struct VectorSample {
  core::Labels labels;
  int64_t t_ms = 0;
  double value = 0;
};
using Vector = std::vector<VectorSample>;
struct Series {
  core::Labels labels;
  std::vector<store::Sample> points;
};
using Matrix = std::vector<Series>;
struct String {
  int64_t t_ms = 0;
  std::string value;
};
using Value = std::variant<Scalar, Vector, Matrix, String>;

// Prometheus's annotations, worded as it words them, e.g.
// "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)".
struct Annotations {
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

struct QueryResult {
  Value value;  // a Matrix for range queries
  Annotations annotations;
};

struct EngineOptions {
  core::Duration lookback_delta = core::Duration::Minutes(5);
  // Like --query.max-samples: the most samples one query may hold at once.
  int64_t max_samples = 50'000'000;
  // Step of a subquery written without one (`x[5m:]`); Prometheus uses the
  // global evaluation interval, promqltest 1m.
  core::Duration default_subquery_step = core::Duration::Minutes(1);
};

// Work shared by the instant queries of one round: queries on the same View
// at the same time, as a rule group evaluates them. Selectors are resolved
// once and identical range-vector calls (rate(x[5m]) in several rules) are
// computed once; results are exactly those without it. Not thread-safe; must
// not outlive the View. Using it with another View or time is InvalidArgument.
class QueryCache {
 public:
  QueryCache(const store::View& view, core::Time t);
  QueryCache(const QueryCache&) = delete;  // holds pointers into the View; make one per round
  QueryCache& operator=(const QueryCache&) = delete;
  ~QueryCache();
  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  // An instant query at t. Runtime errors (e.g. many-to-many matching,
  // too many samples) are InvalidArgument / ResourceExhausted with a message.
  core::Result<Value> Instant(const Expr& expr, const store::View& view, core::Time t) const;
  // A range query: one point per step from start through end (inclusive).
  core::Result<Matrix> Range(const Expr& expr, const store::View& view, core::Time start,
                             core::Time end, core::Duration step) const;
  // The same two queries with the warnings and infos they raised.
  core::Result<QueryResult> InstantQuery(const Expr& expr, const store::View& view,
                                         core::Time t, QueryCache* cache = nullptr) const;
  core::Result<QueryResult> RangeQuery(const Expr& expr, const store::View& view,
                                       core::Time start, core::Time end,
                                       core::Duration step) const;

 private:
  EngineOptions options_;
};

// Prometheus's text rendering of a result, as `amas-scaler eval` prints it.
std::string FormatValue(const Value& value);

}  // namespace amas::promql

#endif  // AMAS_PROMQL_PROMQL_H_
