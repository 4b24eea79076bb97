// engine.cpp: the evaluator core (selectors, operators, subqueries) and the
// instant/range query drivers. Semantics follow Prometheus's promql/engine.go
// with delayed __name__ removal, as the promqltest engine runs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>
#include <utility>

#include "promql/eval.h"
#include "promql/go_strconv.h"

namespace amas::promql {
namespace eval {
namespace {

constexpr std::string_view kName = "__name__";
// First look for an instant sample this far back: with frequent scrapes the
// last sample is there and only a handful of samples are copied.
constexpr int64_t kNarrowLookbackMs = 20'000;

bool IsArithmetic(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
    case BinOp::kSub:
    case BinOp::kMul:
    case BinOp::kDiv:
    case BinOp::kMod:
    case BinOp::kPow:
    case BinOp::kAtan2:
      return true;
    default:
      return false;
  }
}

// vectorElemBinop for floats: the value and whether a comparison keeps it.
std::pair<double, bool> ElemBinop(BinOp op, double l, double r) {
  switch (op) {
    case BinOp::kAdd: return {l + r, true};
    case BinOp::kSub: return {l - r, true};
    case BinOp::kMul: return {l * r, true};
    case BinOp::kDiv: return {l / r, true};
    case BinOp::kPow: return {std::pow(l, r), true};
    case BinOp::kMod: return {std::fmod(l, r), true};
    case BinOp::kAtan2: return {std::atan2(l, r), true};
    case BinOp::kEqlc: return {l, l == r};
    case BinOp::kNeq: return {l, l != r};
    case BinOp::kGtr: return {l, l > r};
    case BinOp::kLss: return {l, l < r};
    case BinOp::kGte: return {l, l >= r};
    case BinOp::kLte: return {l, l <= r};
    default: return {0, false};
  }
}

double ScalarBinop(BinOp op, double l, double r) {
  if (IsComparison(op)) return ElemBinop(op, l, r).second ? 1 : 0;
  return ElemBinop(op, l, r).first;
}

bool Contains(const std::vector<std::string>& names, std::string_view n) {
  for (const auto& s : names) {
    if (s == n) return true;
  }
  return false;
}

// labels.MatchLabels: kept names (on) or all but names and __name__.
core::Labels MatchLabels(const core::Labels& l, const VectorMatching& m) {
  return GroupingLabels(l, m.matching_labels, m.on);
}

// Finds a series by its labels across steps of a subquery or range query.
class SeriesIndex {
 public:
  // Index of the series with these labels, or -1.
  int Find(const core::Labels& l, const std::vector<const core::Labels*>& all) const {
    auto [b, e] = index_.equal_range(l.hash());
    for (auto it = b; it != e; ++it) {
      if (*all[static_cast<size_t>(it->second)] == l) return it->second;
    }
    return -1;
  }
  void Add(uint64_t hash, int idx) { index_.emplace(hash, idx); }

 private:
  std::unordered_multimap<uint64_t, int> index_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Shared helpers.

bool AlmostEqual(double a, double b, double epsilon) {
  if (core::IsStaleNaN(a) || core::IsStaleNaN(b)) return core::IsStaleNaN(a) && core::IsStaleNaN(b);
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  const double min_normal = std::numeric_limits<double>::min();
  const double abs_sum = std::fabs(a) + std::fabs(b);
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < min_normal) return diff < epsilon * min_normal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < epsilon;
}

double KahanInc(double inc, double sum, double* c) {
  const double t = sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    *c += (sum - t) + inc;
  } else {
    *c += (inc - t) + sum;
  }
  return t;
}

double GoMax(double a, double b) {
  if (std::isinf(a) && a > 0) return a;
  if (std::isinf(b) && b > 0) return b;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  if (a == 0 && a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

double GoMin(double a, double b) {
  if (std::isinf(a) && a < 0) return a;
  if (std::isinf(b) && b < 0) return b;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  if (a == 0 && a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

double Quantile(double q, std::vector<double>* values) {
  if (values->empty() || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  // Prometheus's vectorByValueHeap order: NaN sorts first.
  std::sort(values->begin(), values->end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  const double n = static_cast<double>(values->size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return (*values)[static_cast<size_t>(lower)] * (1 - weight) +
         (*values)[static_cast<size_t>(upper)] * weight;
}

// Label names are short: byte loops beat memcmp calls here.
static inline bool ShortLess(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

static inline bool ShortEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

uint64_t GroupingHash(const core::Labels& l, const std::vector<std::string>& names, bool include,
                      std::string* buf) {
  // names are sorted, like the labels: one merge pass decides membership.
  buf->clear();
  size_t n = 0;
  for (const core::Label lab : l) {
    while (n < names.size() && ShortLess(names[n], lab.name)) ++n;
    const bool listed = n < names.size() && ShortEqual(names[n], lab.name);
    if (include ? !listed : (listed || lab.name == kName)) continue;
    buf->append(lab.name);
    buf->push_back('\xff');
    buf->append(lab.value);
    buf->push_back('\xff');
  }
  return core::Hash64(*buf);
}

std::string SelectorKey(const VectorSelector& vs, bool with_time) {
  std::string key;
  for (const auto& m : vs.matchers) {
    key += m.ToString();
    key.push_back('\xff');
  }
  if (with_time) {
    key += "o" + std::to_string(vs.offset_ms) + "@" + std::to_string(static_cast<int>(vs.at)) +
           ":" + std::to_string(vs.at_ms);
  }
  return key;
}

core::Labels GroupingLabels(const core::Labels& l, const std::vector<std::string>& names,
                            bool include) {
  core::LabelsBuilder b;
  for (const core::Label lab : l) {
    const bool listed = Contains(names, lab.name);
    if (include ? !listed : (listed || lab.name == kName)) continue;
    b.Set(lab.name, lab.value);
  }
  return b.Build();
}

std::string PromLabelsString(const core::Labels& l) {
  std::string out = "{";
  bool first = true;
  for (const core::Label lab : l) {
    if (!first) out.append(", ");
    first = false;
    bool legacy = !lab.name.empty();
    for (size_t i = 0; i < lab.name.size(); ++i) {
      const char c = lab.name[i];
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (i > 0 && c >= '0' && c <= '9'))) {
        legacy = false;
      }
    }
    out.append(legacy ? std::string(lab.name) : GoQuote(lab.name));
    out.push_back('=');
    out.append(GoQuote(lab.value));
  }
  out.push_back('}');
  return out;
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (const auto* paren = p->as<ParenExpr>()) p = paren->expr.get();
  return *p;
}

// ---------------------------------------------------------------------------
// Evaluator.

Evaluator::Evaluator(const store::View& view, const EngineOptions& options, int64_t start_ms,
                     int64_t end_ms, int64_t interval_ms, QueryCache::Impl* cache)
    : view_(view),
      options_(options),
      start_ms_(start_ms),
      end_ms_(end_ms),
      interval_ms_(interval_ms),
      cache_(cache) {}

const core::Labels* Evaluator::Intern(core::Labels labels) {
  arena_.push_back(std::move(labels));
  return &arena_.back();
}

// __name__ and the type-and-unit metadata labels go together (schema.IsMetadataLabel).
static bool IsMetadataLabel(std::string_view name) {
  return name == kName || name == "__type__" || name == "__unit__";
}

core::Labels Evaluator::Finalize(const Sample& s) {
  if (s.drop_name) {
    bool has = false;
    for (const core::Label l : *s.labels) has = has || IsMetadataLabel(l.name);
    if (has) {
      core::LabelsBuilder b;
      for (const core::Label l : *s.labels) {
        if (!IsMetadataLabel(l.name)) b.Set(l.name, l.value);
      }
      return b.Build();
    }
  }
  return *s.labels;
}

void Evaluator::Warn(const std::string& text, const Expr& at) {
  std::string msg = "PromQL warning: " + text + " (" + PositionString(*at.source, at.pos.start) + ")";
  if (seen_annotations_.insert(msg).second) warnings_.push_back(std::move(msg));
}

void Evaluator::Info(const std::string& text, const Expr& at) {
  std::string msg = "PromQL info: " + text + " (" + PositionString(*at.source, at.pos.start) + ")";
  if (seen_annotations_.insert(msg).second) infos_.push_back(std::move(msg));
}

Annotations Evaluator::TakeAnnotations() {
  Annotations a;
  a.warnings = std::move(warnings_);
  a.infos = std::move(infos_);
  return a;
}

core::Status Evaluator::Account(size_t n) {
  step_samples_ += static_cast<int64_t>(n);
  if (step_samples_ > options_.max_samples) {
    return core::Status::ResourceExhausted(
        "query processing would load too many samples into memory in query execution (limit " +
        std::to_string(options_.max_samples) + ")");
  }
  return core::Status::Ok();
}

core::Status Evaluator::Prepare(const Expr& root) { return PrepareNode(root); }

core::Status Evaluator::PrepareNode(const Expr& e) {
  auto select = [&](const VectorSelector& vs) -> core::Status {
    if (selections_.count(&vs)) return core::Status::Ok();
    std::string key;
    if (cache_) {
      key = SelectorKey(vs, false);
      auto it = cache_->selections.find(key);
      if (it != cache_->selections.end()) {
        selections_.emplace(&vs, it->second);
        return core::Status::Ok();
      }
    }
    auto refs = view_.Select(vs.matchers);
    if (!refs.ok()) return refs.status();
    auto sel = std::make_shared<Selection>();
    sel->refs = std::move(*refs);
    sel->labels.reserve(sel->refs.size());
    for (const auto& r : sel->refs) sel->labels.push_back(&view_.labels(r));
    if (cache_) cache_->selections.emplace(std::move(key), sel);
    selections_.emplace(&vs, std::move(sel));
    return core::Status::Ok();
  };
  if (const auto* vs = e.as<VectorSelector>()) return select(*vs);
  if (const auto* ms = e.as<MatrixSelector>()) return select(ms->selector);
  if (const auto* sq = e.as<SubqueryExpr>()) return PrepareNode(*sq->expr);
  if (const auto* c = e.as<Call>()) {
    for (const auto& a : c->args) {
      if (auto st = PrepareNode(*a); !st.ok()) return st;
    }
    return core::Status::Ok();
  }
  if (const auto* a = e.as<AggregateExpr>()) {
    if (a->param) {
      if (auto st = PrepareNode(*a->param); !st.ok()) return st;
    }
    return PrepareNode(*a->expr);
  }
  if (const auto* b = e.as<BinaryExpr>()) {
    if (auto st = PrepareNode(*b->lhs); !st.ok()) return st;
    return PrepareNode(*b->rhs);
  }
  if (const auto* u = e.as<UnaryExpr>()) return PrepareNode(*u->expr);
  if (const auto* p = e.as<ParenExpr>()) return PrepareNode(*p->expr);
  return core::Status::Ok();
}

const Selection& Evaluator::SelectionFor(const VectorSelector& vs) const {
  static const Selection kEmpty;
  auto it = selections_.find(&vs);
  return it == selections_.end() ? kEmpty : *it->second;
}

int64_t Evaluator::RefTime(AtKind at, int64_t at_ms, int64_t offset_ms, int64_t t) const {
  int64_t base = t;
  switch (at) {
    case AtKind::kTimestamp: base = at_ms; break;
    case AtKind::kStart: base = start_ms_; break;
    case AtKind::kEnd: base = end_ms_; break;
    case AtKind::kNone: break;
  }
  return base - offset_ms;
}

void Evaluator::LoadRange(store::SeriesRef ref, int64_t ref_ms, int64_t range_ms,
                          std::vector<store::Sample>* out) const {
  view_.Samples(ref, ref_ms - range_ms, ref_ms, out);
  std::erase_if(*out, [](const store::Sample& s) { return core::IsStaleNaN(s.value); });
}

core::Status Evaluator::EvalVectorSelector(const VectorSelector& vs, int64_t t, Vec* out) {
  std::string key;
  if (cache_ && t == cache_->t_ms) {
    key = SelectorKey(vs, true);
    auto it = cache_->instant.find(key);
    if (it != cache_->instant.end()) {
      *out = it->second;
      return Account(out->size());
    }
  }
  if (auto st = LoadInstant(vs, t, out); !st.ok()) return st;
  if (!key.empty()) cache_->instant.emplace(std::move(key), *out);
  return core::Status::Ok();
}

core::Status Evaluator::LoadInstant(const VectorSelector& vs, int64_t t, Vec* out) {
  const Selection& sel = SelectionFor(vs);
  const int64_t ref = RefTime(vs.at, vs.at_ms, vs.offset_ms, t);
  const int64_t lookback = lookback_ms();
  const int64_t narrow = std::min(lookback, kNarrowLookbackMs);
  out->reserve(sel.refs.size());
  for (size_t i = 0; i < sel.refs.size(); ++i) {
    // The newest sample in (ref - lookback, ref]; a stale marker hides it.
    view_.Samples(sel.refs[i], ref - narrow, ref, &buffer_);
    if (buffer_.empty() && narrow < lookback) {
      view_.Samples(sel.refs[i], ref - lookback, ref - narrow, &buffer_);
    }
    if (buffer_.empty()) continue;
    const store::Sample& last = buffer_.back();
    if (core::IsStaleNaN(last.value)) continue;
    out->push_back(Sample{sel.labels[i], last.value, last.t_ms, false});
  }
  return Account(out->size());
}

core::Status Evaluator::EvalRange(const Expr& e, int64_t t, std::vector<RangeSeries>* out) {
  const Expr& u = Unparen(e);
  if (const auto* sq = u.as<SubqueryExpr>()) return EvalSubquery(*sq, t, out);
  const auto* ms = u.as<MatrixSelector>();
  if (!ms) return core::Status::Internal("range vector expected");
  const Selection& sel = SelectionFor(ms->selector);
  const int64_t ref = RefTime(ms->selector.at, ms->selector.at_ms, ms->selector.offset_ms, t);
  for (size_t i = 0; i < sel.refs.size(); ++i) {
    RangeSeries rs;
    rs.labels = sel.labels[i];
    LoadRange(sel.refs[i], ref, ms->range_ms, &rs.points);
    if (rs.points.empty()) continue;
    if (auto st = Account(rs.points.size()); !st.ok()) return st;
    out->push_back(std::move(rs));
  }
  return core::Status::Ok();
}

core::Status Evaluator::EvalSubquery(const SubqueryExpr& sq, int64_t t,
                                     std::vector<RangeSeries>* out) {
  const int64_t end = RefTime(sq.at, sq.at_ms, sq.offset_ms, t);
  const int64_t step =
      sq.step_ms > 0 ? sq.step_ms : std::max<int64_t>(1, options_.default_subquery_step.millis());
  // The first step-aligned time after end - range (Go's truncating division).
  const int64_t lower = end - sq.range_ms;
  int64_t ts = step * (lower / step);
  if (ts <= lower) ts += step;
  std::vector<const core::Labels*> labels;
  SeriesIndex index;
  std::vector<int64_t> last_ts;
  for (; ts <= end; ts += step) {
    StepValue v;
    if (auto st = Eval(*sq.expr, ts, &v); !st.ok()) return st;
    for (const Sample& s : v.vec) {
      int idx = index.Find(*s.labels, labels);
      if (idx < 0) {
        idx = static_cast<int>(out->size());
        index.Add(s.labels->hash(), idx);
        labels.push_back(s.labels);
        RangeSeries rs;
        rs.labels = s.labels;
        rs.drop_name = s.drop_name;
        out->push_back(std::move(rs));
        last_ts.push_back(std::numeric_limits<int64_t>::min());
      }
      if (last_ts[static_cast<size_t>(idx)] == ts) {
        return core::Status::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
      last_ts[static_cast<size_t>(idx)] = ts;
      (*out)[static_cast<size_t>(idx)].points.push_back(store::Sample{ts, s.value});
    }
    if (auto st = Account(v.vec.size()); !st.ok()) return st;
  }
  return core::Status::Ok();
}

core::Status Evaluator::Eval(const Expr& e, int64_t t, StepValue* out) {
  out->vec.clear();
  if (const auto* n = e.as<NumberLiteral>()) {
    out->type = ValueType::kScalar;
    out->scalar = n->value;
    return core::Status::Ok();
  }
  if (const auto* s = e.as<StringLiteral>()) {
    out->type = ValueType::kString;
    out->str = s->value;
    return core::Status::Ok();
  }
  if (const auto* vs = e.as<VectorSelector>()) {
    out->type = ValueType::kVector;
    return EvalVectorSelector(*vs, t, &out->vec);
  }
  if (const auto* c = e.as<Call>()) return EvalCall(e, *c, t, out);
  if (const auto* a = e.as<AggregateExpr>()) return EvalAggregate(e, *a, t, out);
  if (const auto* b = e.as<BinaryExpr>()) return EvalBinary(e, *b, t, out);
  if (const auto* p = e.as<ParenExpr>()) return Eval(*p->expr, t, out);
  if (const auto* u = e.as<UnaryExpr>()) {
    if (auto st = Eval(*u->expr, t, out); !st.ok()) return st;
    if (!u->negate) return core::Status::Ok();
    if (out->type == ValueType::kScalar) {
      out->scalar = -out->scalar;
    } else {
      for (Sample& s : out->vec) {
        s.value = -s.value;
        s.drop_name = true;
      }
    }
    return core::Status::Ok();
  }
  return core::Status::InvalidArgument("a range vector cannot be evaluated at a single step here");
}

core::Status Evaluator::EvalBinary(const Expr& e, const BinaryExpr& b, int64_t t, StepValue* out) {
  (void)e;
  StepValue lhs, rhs;
  if (auto st = Eval(*b.lhs, t, &lhs); !st.ok()) return st;
  if (auto st = Eval(*b.rhs, t, &rhs); !st.ok()) return st;
  const bool ls = lhs.type == ValueType::kScalar;
  const bool rs = rhs.type == ValueType::kScalar;
  if (ls && rs) {
    out->type = ValueType::kScalar;
    out->scalar = ScalarBinop(b.op, lhs.scalar, rhs.scalar);
    return core::Status::Ok();
  }
  out->type = ValueType::kVector;
  if (!ls && !rs) {
    if (IsSetOperator(b.op)) return SetOperation(b, lhs.vec, rhs.vec, &out->vec);
    return VectorBinop(b, lhs.vec, rhs.vec, &out->vec);
  }
  // Vector and scalar; the vector's value is kept by comparisons.
  const bool swap = ls;
  Vec& vec = swap ? rhs.vec : lhs.vec;
  const double scalar = swap ? lhs.scalar : rhs.scalar;
  const bool arithmetic = IsArithmetic(b.op);
  out->vec.reserve(vec.size());
  for (Sample s : vec) {
    double l = s.value, r = scalar;
    if (swap) std::swap(l, r);
    auto [value, keep] = ElemBinop(b.op, l, r);
    if (IsComparison(b.op) && swap) value = r;
    if (b.return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    s.value = value;
    if (arithmetic || b.return_bool) s.drop_name = true;
    out->vec.push_back(s);
  }
  return Account(out->vec.size());
}

uint64_t Evaluator::Signature(const core::Labels& l, const VectorMatching& m) {
  if (sorted_for_ != &m) {
    sorted_names_ = m.matching_labels;
    std::sort(sorted_names_.begin(), sorted_names_.end());
    sorted_for_ = &m;
  }
  return GroupingHash(l, sorted_names_, m.on, &scratch_);
}

core::Status Evaluator::SetOperation(const BinaryExpr& b, Vec& lhs, Vec& rhs, Vec* out) {
  const VectorMatching& m = b.matching;
  switch (b.op) {
    case BinOp::kAnd: {
      if (lhs.empty() || rhs.empty()) return core::Status::Ok();
      FlatIndex right(rhs.size());
      for (const Sample& s : rhs) right.FindOrInsert(Signature(*s.labels, m), 0);
      for (const Sample& s : lhs) {
        if (right.Find(Signature(*s.labels, m)) != FlatIndex::kNotFound) out->push_back(s);
      }
      break;
    }
    case BinOp::kOr: {
      if (lhs.empty() || rhs.empty()) {
        *out = lhs.empty() ? std::move(rhs) : std::move(lhs);
        break;
      }
      FlatIndex left(lhs.size());
      for (const Sample& s : lhs) {
        left.FindOrInsert(Signature(*s.labels, m), 0);
        out->push_back(s);
      }
      for (const Sample& s : rhs) {
        if (left.Find(Signature(*s.labels, m)) == FlatIndex::kNotFound) out->push_back(s);
      }
      break;
    }
    default: {  // unless
      if (lhs.empty() || rhs.empty()) {
        *out = std::move(lhs);
        break;
      }
      FlatIndex right(rhs.size());
      for (const Sample& s : rhs) right.FindOrInsert(Signature(*s.labels, m), 0);
      for (const Sample& s : lhs) {
        if (right.Find(Signature(*s.labels, m)) == FlatIndex::kNotFound) out->push_back(s);
      }
      break;
    }
  }
  return Account(out->size());
}

const core::Labels* Evaluator::ResultMetric(const Sample& many, const Sample& one,
                                            const BinaryExpr& b) {
  const VectorMatching& m = b.matching;
  const core::Labels& base = *many.labels;
  const bool del_name = IsArithmetic(b.op);
  const bool one_to_one = m.card == VectorMatching::Card::kOneToOne;
  bool change = false;
  if (del_name) {
    for (const core::Label lab : base) change = change || IsMetadataLabel(lab.name);
  }
  if (!change && one_to_one) {
    for (const core::Label lab : base) {
      if (Contains(m.matching_labels, lab.name) != m.on) {
        change = true;
        break;
      }
    }
  }
  if (!change) {
    for (const auto& ln : m.include) {
      if (one.labels->Get(ln) != base.Get(ln)) {
        change = true;
        break;
      }
    }
  }
  if (!change) return many.labels;
  core::LabelsBuilder lb;
  for (const core::Label lab : base) {
    if (del_name && IsMetadataLabel(lab.name)) continue;
    if (one_to_one && Contains(m.matching_labels, lab.name) != m.on) continue;
    lb.Set(lab.name, lab.value);
  }
  for (const auto& ln : m.include) lb.Set(ln, one.labels->Get(ln));  // "" deletes
  return Intern(lb.Build());
}

core::Status Evaluator::VectorBinop(const BinaryExpr& b, Vec& lhs, Vec& rhs, Vec* out) {
  const VectorMatching& m = b.matching;
  if (lhs.empty() || rhs.empty()) return core::Status::Ok();
  const bool swapped = m.card == VectorMatching::Card::kOneToMany;
  const Vec& many = swapped ? rhs : lhs;
  const Vec& one = swapped ? lhs : rhs;

  FlatIndex one_by_sig(one.size());
  for (size_t i = 0; i < one.size(); ++i) {
    const auto [first, inserted] =
        one_by_sig.FindOrInsert(Signature(*one[i].labels, m), static_cast<uint32_t>(i));
    if (!inserted) {
      const core::Labels& a = *one[first].labels;
      const core::Labels& c = *one[i].labels;
      const bool a_first = a < c;
      return core::Status::InvalidArgument(
          "found duplicate series for the match group " +
          PromLabelsString(MatchLabels(c, m)) + " on the " + (swapped ? "left" : "right") +
          " hand-side of the operation: [" + PromLabelsString(a_first ? a : c) + ", " +
          PromLabelsString(a_first ? c : a) +
          "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
  }

  const bool one_to_one = m.card == VectorMatching::Card::kOneToOne;
  std::unordered_set<uint64_t> matched_one_to_one;
  std::unordered_set<uint64_t> matched_many;  // hash(sig, result labels)
  for (const Sample& ls : many) {
    const uint64_t sig = Signature(*ls.labels, m);
    const uint32_t found = one_by_sig.Find(sig);
    if (found == FlatIndex::kNotFound) continue;
    const Sample& rs = one[found];
    double fl = ls.value, fr = rs.value;
    if (swapped) std::swap(fl, fr);
    auto [value, keep] = ElemBinop(b.op, fl, fr);
    if (b.return_bool) value = keep ? 1 : 0;
    const core::Labels* metric = ResultMetric(ls, rs, b);
    if (one_to_one) {
      if (!matched_one_to_one.insert(sig).second) {
        return core::Status::InvalidArgument(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else {
      const uint64_t key = core::Hash64(std::string_view(
          reinterpret_cast<const char*>(&sig), sizeof(sig)), metric->hash());
      if (!matched_many.insert(key).second) {
        return core::Status::InvalidArgument(
            "multiple matches for labels: grouping labels must ensure unique matches");
      }
    }
    if (!keep && !b.return_bool) continue;
    out->push_back(Sample{metric, value, 0, b.return_bool});
  }
  return Account(out->size());
}

}  // namespace eval

// ---------------------------------------------------------------------------
// Engine.

namespace {

using eval::Evaluator;
using eval::Sample;
using eval::StepValue;

bool IsRangeRoot(const Expr& e) {
  const Expr& u = eval::Unparen(e);
  return u.as<MatrixSelector>() != nullptr || u.as<SubqueryExpr>() != nullptr;
}

void SortMatrix(Matrix* m) {
  std::sort(m->begin(), m->end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
}

}  // namespace

QueryCache::QueryCache(const store::View& view, core::Time t) : impl_(std::make_unique<Impl>()) {
  impl_->view = &view;
  impl_->t_ms = t.unix_millis();
}

QueryCache::~QueryCache() = default;

Engine::Engine(EngineOptions options) : options_(options) {}

core::Result<QueryResult> Engine::InstantQuery(const Expr& expr, const store::View& view,
                                               core::Time t, QueryCache* cache) const {
  const int64_t ts = t.unix_millis();
  QueryCache::Impl* c = cache ? cache->impl() : nullptr;
  if (c && (c->view != &view || c->t_ms != ts)) {
    return core::Status::InvalidArgument("QueryCache used with another View or time");
  }
  Evaluator ev(view, options_, ts, ts, 1, c);
  if (auto st = ev.Prepare(expr); !st.ok()) return st;
  QueryResult result;
  if (IsRangeRoot(expr)) {
    std::vector<eval::RangeSeries> series;
    if (auto st = ev.EvalRange(expr, ts, &series); !st.ok()) return st;
    Matrix m;
    m.reserve(series.size());
    std::unordered_set<uint64_t> seen;
    for (auto& rs : series) {
      Series s;
      s.labels = ev.Finalize(Sample{rs.labels, 0, 0, rs.drop_name});
      if (!seen.insert(s.labels.hash()).second) {
        return core::Status::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
      s.points = std::move(rs.points);
      m.push_back(std::move(s));
    }
    SortMatrix(&m);
    result.value = std::move(m);
    result.annotations = ev.TakeAnnotations();
    return result;
  }
  StepValue v;
  if (auto st = ev.Eval(expr, ts, &v); !st.ok()) return st;
  switch (v.type) {
    case ValueType::kScalar:
      result.value = Scalar{ts, v.scalar};
      break;
    case ValueType::kString:
      result.value = String{ts, std::move(v.str)};
      break;
    default: {
      Vector out;
      out.reserve(v.vec.size());
      std::unordered_set<uint64_t> seen;
      for (const Sample& s : v.vec) {
        VectorSample vs;
        vs.labels = ev.Finalize(s);
        if (!seen.insert(vs.labels.hash()).second) {
          return core::Status::InvalidArgument(
              "vector cannot contain metrics with the same labelset");
        }
        vs.t_ms = ts;
        vs.value = s.value;
        out.push_back(std::move(vs));
      }
      result.value = std::move(out);
    }
  }
  result.annotations = ev.TakeAnnotations();
  return result;
}

core::Result<QueryResult> Engine::RangeQuery(const Expr& expr, const store::View& view,
                                             core::Time start, core::Time end,
                                             core::Duration step) const {
  if (step.millis() <= 0) {
    return core::Status::InvalidArgument(
        "zero or negative query resolution step widths are not accepted");
  }
  if (end < start) return core::Status::InvalidArgument("end timestamp must not be before start time");
  const ValueType type = expr.type();
  if (type != ValueType::kScalar && type != ValueType::kVector) {
    return core::Status::InvalidArgument("invalid expression type " +
                                         GoQuote(DocumentedType(type)) +
                                         " for range query, must be Scalar or instant Vector");
  }
  const int64_t s0 = start.unix_millis(), s1 = end.unix_millis(), st_ms = step.millis();
  Evaluator ev(view, options_, s0, s1, st_ms);
  if (auto st = ev.Prepare(expr); !st.ok()) return st;

  Matrix m;
  std::unordered_multimap<uint64_t, size_t> index;
  std::vector<int64_t> last_ts;
  int64_t total_points = 0;
  for (int64_t ts = s0; ts <= s1; ts += st_ms) {
    ev.ResetStepSamples();
    StepValue v;
    if (auto st = ev.Eval(expr, ts, &v); !st.ok()) return st;
    auto add = [&](core::Labels labels, double value) -> core::Status {
      size_t idx = m.size();
      auto [b, e] = index.equal_range(labels.hash());
      for (auto it = b; it != e; ++it) {
        if (m[it->second].labels == labels) {
          idx = it->second;
          break;
        }
      }
      if (idx == m.size()) {
        index.emplace(labels.hash(), idx);
        Series s;
        s.labels = std::move(labels);
        m.push_back(std::move(s));
        last_ts.push_back(std::numeric_limits<int64_t>::min());
      }
      if (last_ts[idx] == ts) {
        return core::Status::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
      last_ts[idx] = ts;
      m[idx].points.push_back(store::Sample{ts, value});
      if (++total_points > options_.max_samples) {
        return core::Status::ResourceExhausted(
            "query processing would load too many samples into memory in query execution (limit " +
            std::to_string(options_.max_samples) + ")");
      }
      return core::Status::Ok();
    };
    if (v.type == ValueType::kScalar) {
      if (auto st = add(core::Labels(), v.scalar); !st.ok()) return st;
    } else {
      for (const Sample& s : v.vec) {
        if (auto st = add(ev.Finalize(s), s.value); !st.ok()) return st;
      }
    }
    if (s1 - ts < st_ms) break;  // stop before ts could overflow
  }
  SortMatrix(&m);
  QueryResult result;
  result.value = std::move(m);
  result.annotations = ev.TakeAnnotations();
  return result;
}

core::Result<Value> Engine::Instant(const Expr& expr, const store::View& view,
                                    core::Time t) const {
  auto r = InstantQuery(expr, view, t);
  if (!r.ok()) return r.status();
  return std::move(r->value);
}

core::Result<Matrix> Engine::Range(const Expr& expr, const store::View& view, core::Time start,
                                   core::Time end, core::Duration step) const {
  auto r = RangeQuery(expr, view, start, end, step);
  if (!r.ok()) return r.status();
  return std::get<Matrix>(std::move(r->value));
}

std::string FormatValue(const Value& value) {
  auto point = [](double v, int64_t t) {
    return FormatFloat(v) + " @[" + std::to_string(t) + "]";
  };
  if (const auto* s = std::get_if<Scalar>(&value)) return "scalar: " + point(s->value, s->t_ms);
  if (const auto* s = std::get_if<String>(&value)) return s->value;
  std::string out;
  if (const auto* v = std::get_if<Vector>(&value)) {
    for (size_t i = 0; i < v->size(); ++i) {
      if (i > 0) out.push_back('\n');
      out += eval::PromLabelsString((*v)[i].labels) + " => " + point((*v)[i].value, (*v)[i].t_ms);
    }
    return out;
  }
  const auto& m = std::get<Matrix>(value);
  for (size_t i = 0; i < m.size(); ++i) {
    if (i > 0) out.push_back('\n');
    out += eval::PromLabelsString(m[i].labels) + " =>";
    for (const auto& p : m[i].points) out += "\n" + point(p.value, p.t_ms);
  }
  return out;
}

}  // namespace amas::promql
