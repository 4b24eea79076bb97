// aggregations.cpp: sum, avg, count, min, max, group, stddev, stdvar,
// quantile, topk, bottomk and count_values, after Prometheus's engine.go.
// Groups are found by a 64-bit hash of the grouping labels, so a step is one
// pass over the input with no label sets built except one per group.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "promql/eval.h"
#include "promql/go_strconv.h"

namespace amas::promql::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Group {
  const core::Labels* labels = nullptr;
  double value = 0;
  double mean = 0;
  double c = 0;  // Kahan compensation
  double count = 0;
  bool incremental = false;
  bool drop_name = false;
  std::vector<double> values;       // quantile
  std::vector<const Sample*> members;  // topk/bottomk
};

// Prometheus's order for topk: larger first, NaN last.
bool TopkBefore(const Sample* a, const Sample* b) {
  if (std::isnan(a->value)) return false;
  if (std::isnan(b->value)) return true;
  return a->value > b->value;
}

// bottomk: smaller first, NaN last.
bool BottomkBefore(const Sample* a, const Sample* b) {
  if (std::isnan(a->value)) return false;
  if (std::isnan(b->value)) return true;
  return a->value < b->value;
}

}  // namespace

core::Status Evaluator::EvalAggregate(const Expr& e, const AggregateExpr& agg, int64_t t,
                                      StepValue* out) {
  out->type = ValueType::kVector;
  out->vec.clear();
  StepValue param;
  if (agg.param) {
    if (auto st = Eval(Unparen(*agg.param), t, &param); !st.ok()) return st;
  }
  StepValue in;
  if (auto st = Eval(Unparen(*agg.expr), t, &in); !st.ok()) return st;
  const bool include = !agg.without;
  std::vector<std::string> sorted = agg.grouping;  // GroupingHash wants sorted names
  std::sort(sorted.begin(), sorted.end());

  if (agg.op == AggOp::kCountValues) {
    const std::string& label = param.str;
    if (label.empty() || !IsValidUTF8(label)) {
      return core::Status::InvalidArgument("invalid label name " + GoQuote(label));
    }
    std::vector<std::string> names = sorted;
    if (include) names.push_back(label);
    std::sort(names.begin(), names.end());
    std::unordered_map<uint64_t, size_t> index;
    std::vector<std::pair<const core::Labels*, double>> groups;
    for (const Sample& s : in.vec) {
      core::LabelsBuilder b(*s.labels);
      b.Set(label, FormatFloat(s.value));
      const core::Labels metric = b.Build();
      const uint64_t key = GroupingHash(metric, names, include, &scratch_);
      auto [it, inserted] = index.try_emplace(key, groups.size());
      if (inserted) groups.emplace_back(Intern(GroupingLabels(metric, names, include)), 0);
      groups[it->second].second += 1;
    }
    for (const auto& [labels, count] : groups) out->vec.push_back(Sample{labels, count, t, false});
    return Account(out->vec.size());
  }

  double k_param = 0;
  if (agg.op == AggOp::kTopk || agg.op == AggOp::kBottomk) {
    const double p = param.scalar;
    if (std::isnan(p)) return core::Status::InvalidArgument("Parameter value is NaN");
    if (p >= 9223372036854774784.0) {
      return core::Status::InvalidArgument("Scalar value " + FormatFloatG(p) + " overflows int64");
    }
    if (p < 1) return core::Status::Ok();
    k_param = std::trunc(p);
  }
  if (agg.op == AggOp::kQuantile) {
    const double q = param.scalar;
    if (std::isnan(q) || q > 1 || q < 0) {
      Warn("quantile value should be between 0 and 1, got " + FormatFloatG(q),
           Unparen(*agg.param));
    }
  }

  std::vector<Group> groups;
  FlatIndex index(64);
  for (const Sample& s : in.vec) {
    const uint64_t key = GroupingHash(*s.labels, sorted, include, &scratch_);
    const auto [group_index, inserted] =
        index.FindOrInsert(key, static_cast<uint32_t>(groups.size()));
    const double f = s.value;
    if (inserted) {
      Group g;
      // One label set per group for the whole query, found again by key.
      const Expr* node = &e;
      const uint64_t cache_key =
          core::Hash64(std::string_view(reinterpret_cast<const char*>(&node), sizeof(node)), key);
      auto cached = group_labels_.find(cache_key);
      if (cached == group_labels_.end()) {
        cached = group_labels_
                     .emplace(cache_key, Intern(GroupingLabels(*s.labels, agg.grouping, include)))
                     .first;
      }
      g.labels = cached->second;
      g.value = f;
      g.mean = f;
      g.count = 1;
      g.drop_name = s.drop_name;
      switch (agg.op) {
        case AggOp::kStddev:
        case AggOp::kStdvar:
          g.value = (std::isnan(f) || std::isinf(f)) ? kNaN : 0;
          break;
        case AggOp::kQuantile:
          g.values.push_back(f);
          break;
        case AggOp::kGroup:
          g.value = 1;
          break;
        case AggOp::kTopk:
        case AggOp::kBottomk:
          g.members.push_back(&s);
          break;
        default:
          break;
      }
      groups.push_back(std::move(g));
      continue;
    }
    Group& g = groups[group_index];
    if (s.drop_name) g.drop_name = true;
    switch (agg.op) {
      case AggOp::kSum:
        g.value = KahanInc(f, g.value, &g.c);
        break;
      case AggOp::kAvg: {
        g.count++;
        if (!g.incremental) {
          double c = g.c;
          const double v = KahanInc(f, g.value, &c);
          if (!std::isinf(v)) {
            g.value = v;
            g.c = c;
            break;
          }
          // The direct sum would overflow: switch to an incremental mean.
          g.incremental = true;
          g.mean = g.value / (g.count - 1);
          g.c /= g.count - 1;
        }
        const double q = (g.count - 1) / g.count;
        double qc = q * g.c;
        g.mean = KahanInc(f / g.count, q * g.mean, &qc);
        g.c = qc;
        break;
      }
      case AggOp::kMax:
        if (g.value < f || std::isnan(g.value)) g.value = f;
        break;
      case AggOp::kMin:
        if (g.value > f || std::isnan(g.value)) g.value = f;
        break;
      case AggOp::kCount:
        g.count++;
        break;
      case AggOp::kStddev:
      case AggOp::kStdvar: {
        g.count++;
        const double delta = f - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (f - g.mean);
        break;
      }
      case AggOp::kQuantile:
        g.values.push_back(f);
        break;
      case AggOp::kTopk:
      case AggOp::kBottomk:
        g.members.push_back(&s);
        break;
      default:
        break;
    }
  }

  for (Group& g : groups) {
    switch (agg.op) {
      case AggOp::kTopk:
      case AggOp::kBottomk: {
        auto before = agg.op == AggOp::kTopk ? TopkBefore : BottomkBefore;
        std::stable_sort(g.members.begin(), g.members.end(), before);
        const size_t k = std::min(g.members.size(), static_cast<size_t>(std::min(
                                                        k_param, 9.2e18)));
        for (size_t i = 0; i < k; ++i) out->vec.push_back(*g.members[i]);
        continue;
      }
      case AggOp::kAvg:
        g.value = g.incremental ? g.mean + g.c : g.value / g.count + g.c / g.count;
        break;
      case AggOp::kCount:
        g.value = g.count;
        break;
      case AggOp::kStdvar:
        g.value /= g.count;
        break;
      case AggOp::kStddev:
        g.value = std::sqrt(g.value / g.count);
        break;
      case AggOp::kQuantile:
        g.value = Quantile(param.scalar, &g.values);
        break;
      case AggOp::kSum:
        g.value += g.c;
        break;
      default:
        break;
    }
    out->vec.push_back(Sample{g.labels, g.value, t, g.drop_name});
  }
  return Account(out->vec.size());
}

}  // namespace amas::promql::eval
