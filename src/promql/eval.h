// eval.h: the evaluator's internals, shared by engine.cpp, functions.cpp and
// aggregations.cpp. Not part of the module's contract.
//
// Evaluation is step-wise: Eval(expr, t) computes the value of expr at one
// timestamp. A range query calls it once per step; selectors are resolved
// once per query (Prepare), so a step costs sample reads, not index lookups.
// Samples carry a borrowed Labels pointer (the View's or the query arena's)
// and a drop_name flag for Prometheus's delayed __name__ removal; label sets
// are only built when an operation really changes them.
#ifndef AMAS_PROMQL_EVAL_H_
#define AMAS_PROMQL_EVAL_H_

#include <cstdint>
#include <deque>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/core.h"
#include "promql/ast.h"
#include "promql/promql.h"
#include "store/store.h"

namespace amas::promql::eval {

struct Sample {
  const core::Labels* labels = nullptr;  // borrowed for the query's lifetime
  double value = 0;
  int64_t t = 0;           // timestamp of the underlying sample (timestamp())
  bool drop_name = false;  // drop __name__ when the query finishes
};
using Vec = std::vector<Sample>;

// The value of an expression at one step.
struct StepValue {
  ValueType type = ValueType::kVector;
  double scalar = 0;
  Vec vec;
  std::string str;
};

// One series of a range-vector value (matrix selector or subquery).
struct RangeSeries {
  const core::Labels* labels = nullptr;
  std::vector<store::Sample> points;
  bool drop_name = false;
};

struct Selection {
  std::vector<store::SeriesRef> refs;
  std::vector<const core::Labels*> labels;  // parallel to refs; borrowed from the View
};

// A range-vector call's result, kept for the round (QueryCache).
struct CachedCall {
  Vec samples;                              // labels borrowed from the View
  std::vector<std::string> counter_infos;   // metric names that raised the counter info
};

}  // namespace amas::promql::eval

namespace amas::promql {
struct QueryCache::Impl {
  const store::View* view;
  int64_t t_ms;
  // Per series results of range functions, for selectors that overlap but
  // differ (x{a!~"b"}[5m] after x[5m]): key (function, range, ref time) ->
  // results indexed by series slot (slots are dense and fixed within a View).
  struct SeriesMemo {
    std::vector<double> value;
    std::vector<uint8_t> state;  // 0 unknown, 1 value, 2 no value
  };
  std::unordered_map<std::string, SeriesMemo> per_series;
  std::unordered_map<std::string, std::shared_ptr<const eval::Selection>> selections;
  std::unordered_map<std::string, eval::CachedCall> calls;
  std::unordered_map<std::string, eval::Vec> instant;  // instant selector results
};
}  // namespace amas::promql

namespace amas::promql::eval {

class Evaluator {
 public:
  // cache may be null; it is only consulted for steps at its own time.
  Evaluator(const store::View& view, const EngineOptions& options, int64_t start_ms,
            int64_t end_ms, int64_t interval_ms, QueryCache::Impl* cache = nullptr);
  Evaluator(const Evaluator&) = delete;  // owns per-query arenas; one per query
  Evaluator& operator=(const Evaluator&) = delete;

  // Resolves every selector of the tree once. Must precede Eval().
  core::Status Prepare(const Expr& root);
  core::Status Eval(const Expr& e, int64_t t, StepValue* out);
  // A range-vector expression (matrix selector or subquery) at t.
  core::Status EvalRange(const Expr& e, int64_t t, std::vector<RangeSeries>* out);

  // Stores labels for the rest of the query and returns a stable pointer.
  const core::Labels* Intern(core::Labels labels);
  const core::Labels* EmptyLabels() const { return &empty_; }
  // The labels as the user will see them: __name__ removed when flagged.
  core::Labels Finalize(const Sample& s);

  // "PromQL warning: <text> (line:col)" / "PromQL info: ...", deduplicated.
  void Warn(const std::string& text, const Expr& at);
  void Info(const std::string& text, const Expr& at);
  Annotations TakeAnnotations();

  // Counts samples held by the current step against --query.max-samples.
  core::Status Account(size_t n);
  void ResetStepSamples() { step_samples_ = 0; }

  int64_t start_ms() const { return start_ms_; }
  int64_t end_ms() const { return end_ms_; }
  int64_t lookback_ms() const { return options_.lookback_delta.millis(); }
  const store::View& view() const { return view_; }
  std::string* scratch() { return &scratch_; }

  // Functions and aggregations (functions.cpp, aggregations.cpp).
  core::Status EvalCall(const Expr& e, const Call& call, int64_t t, StepValue* out);
  core::Status EvalAggregate(const Expr& e, const AggregateExpr& agg, int64_t t, StepValue* out);
  core::Status HistogramQuantile(const Call& call, int64_t t, StepValue* out);
  void CounterInfo(std::string_view metric, const Expr& at);

  const Selection& SelectionFor(const VectorSelector& vs) const;
  // Reference time of a selector or subquery at step t: @ and offset applied.
  int64_t RefTime(AtKind at, int64_t at_ms, int64_t offset_ms, int64_t t) const;
  // Samples of one series in (ref - range, ref], stale markers dropped.
  void LoadRange(store::SeriesRef ref, int64_t ref_ms, int64_t range_ms,
                 std::vector<store::Sample>* out) const;

 private:
  core::Status PrepareNode(const Expr& e);
  core::Status EvalVectorSelector(const VectorSelector& vs, int64_t t, Vec* out);
  core::Status LoadInstant(const VectorSelector& vs, int64_t t, Vec* out);
  core::Status EvalBinary(const Expr& e, const BinaryExpr& b, int64_t t, StepValue* out);
  core::Status EvalSubquery(const SubqueryExpr& sq, int64_t t, std::vector<RangeSeries>* out);
  core::Status VectorBinop(const BinaryExpr& b, Vec& lhs, Vec& rhs, Vec* out);
  core::Status SetOperation(const BinaryExpr& b, Vec& lhs, Vec& rhs, Vec* out);
  uint64_t Signature(const core::Labels& l, const VectorMatching& m);
  const core::Labels* ResultMetric(const Sample& many, const Sample& one, const BinaryExpr& b);

  const store::View& view_;
  EngineOptions options_;
  int64_t start_ms_;
  int64_t end_ms_;
  int64_t interval_ms_;
  std::unordered_map<const VectorSelector*, std::shared_ptr<const Selection>> selections_;
  QueryCache::Impl* cache_ = nullptr;
  std::deque<core::Labels> arena_;
  // Aggregation group labels, keyed by (node, group hash), reused across steps.
  std::unordered_map<uint64_t, const core::Labels*> group_labels_;
  core::Labels empty_;
  std::vector<std::string> warnings_;
  std::vector<std::string> infos_;
  std::set<std::string> seen_annotations_;
  int64_t step_samples_ = 0;
  std::string scratch_;
  std::vector<store::Sample> buffer_;
  // Matching labels sorted for GroupingHash, for the last VectorMatching seen.
  const VectorMatching* sorted_for_ = nullptr;
  std::vector<std::string> sorted_names_;
};

// A map from 64-bit hash to a dense index, open addressing in one array: no
// allocation per key, which matters when every input sample looks up a group.
class FlatIndex {
 public:
  explicit FlatIndex(size_t expected = 16) { Reset(expected); }
  void Reset(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, Slot{0, kEmpty});
    size_ = 0;
  }
  // The index stored for key, or stores next and returns {next, true}.
  std::pair<uint32_t, bool> FindOrInsert(uint64_t key, uint32_t next) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t i = Mix(key) & (slots_.size() - 1);
    while (slots_[i].value != kEmpty) {
      if (slots_[i].key == key) return {slots_[i].value, false};
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = Slot{key, next};
    ++size_;
    return {next, true};
  }
  // kNotFound when absent.
  uint32_t Find(uint64_t key) const {
    size_t i = Mix(key) & (slots_.size() - 1);
    while (slots_[i].value != kEmpty) {
      if (slots_[i].key == key) return slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    return kNotFound;
  }
  static constexpr uint32_t kNotFound = UINT32_MAX - 1;

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t key;
    uint32_t value;
  };
  static size_t Mix(uint64_t k) { return static_cast<size_t>((k ^ (k >> 29)) * 0xbf58476d1ce4e5b9ULL >> 20); }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{0, kEmpty});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value != kEmpty) FindOrInsert(s.key, s.value);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Helpers shared by the evaluation files.
// Prometheus's util/almost.Equal: relative tolerance, NaN equals NaN, a stale
// marker equals only a stale marker.
bool AlmostEqual(double a, double b, double epsilon);
double KahanInc(double inc, double sum, double* c);
// Go's math.Max/math.Min (NaN wins, signed zeros ordered).
double GoMax(double a, double b);
double GoMin(double a, double b);
// Prometheus's quantile() over values (sorts them).
double Quantile(double q, std::vector<double>* values);
// Hash of the labels selected by by()/on() (include) or not excluded by
// without()/ignoring() (plus __name__), reusing *buf. names must be sorted.
uint64_t GroupingHash(const core::Labels& l, const std::vector<std::string>& names, bool include,
                      std::string* buf);
// A selector as a cache key: matchers, offset and @.
std::string SelectorKey(const VectorSelector& vs, bool with_time);
// The labels of a group: kept (by) or everything but names and __name__ (without).
core::Labels GroupingLabels(const core::Labels& l, const std::vector<std::string>& names,
                            bool include);
// Prometheus's labels.String(): {__name__="x", a="b"}.
std::string PromLabelsString(const core::Labels& l);
const Expr& Unparen(const Expr& e);

}  // namespace amas::promql::eval

#endif  // AMAS_PROMQL_EVAL_H_
