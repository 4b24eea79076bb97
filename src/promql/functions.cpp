// functions.cpp: PromQL function calls, after Prometheus's promql/functions.go.
// Range-vector functions stream one series at a time through a reused
// buffer, so memory does not grow with the number of series selected.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include <re2/re2.h>

#include "promql/eval.h"
#include "promql/go_strconv.h"

namespace amas::promql::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::string_view kName = "__name__";

using Points = std::span<const store::Sample>;

enum class RangeFn {
  kRate, kIncrease, kDelta, kIrate, kIdelta, kDeriv, kPredictLinear, kResets, kChanges,
  kAvg, kMin, kMax, kSum, kCount, kQuantile, kStddev, kStdvar, kLast, kFirst, kPresent,
  kAbsent, kMad, kTsFirst, kTsLast, kTsMax, kTsMin,
};

std::optional<RangeFn> RangeFnByName(std::string_view n) {
  static const std::unordered_map<std::string_view, RangeFn> table = {
      {"rate", RangeFn::kRate},
      {"increase", RangeFn::kIncrease},
      {"delta", RangeFn::kDelta},
      {"irate", RangeFn::kIrate},
      {"idelta", RangeFn::kIdelta},
      {"deriv", RangeFn::kDeriv},
      {"predict_linear", RangeFn::kPredictLinear},
      {"resets", RangeFn::kResets},
      {"changes", RangeFn::kChanges},
      {"avg_over_time", RangeFn::kAvg},
      {"min_over_time", RangeFn::kMin},
      {"max_over_time", RangeFn::kMax},
      {"sum_over_time", RangeFn::kSum},
      {"count_over_time", RangeFn::kCount},
      {"quantile_over_time", RangeFn::kQuantile},
      {"stddev_over_time", RangeFn::kStddev},
      {"stdvar_over_time", RangeFn::kStdvar},
      {"last_over_time", RangeFn::kLast},
      {"first_over_time", RangeFn::kFirst},
      {"present_over_time", RangeFn::kPresent},
      {"absent_over_time", RangeFn::kAbsent},
      {"mad_over_time", RangeFn::kMad},
      {"ts_of_first_over_time", RangeFn::kTsFirst},
      {"ts_of_last_over_time", RangeFn::kTsLast},
      {"ts_of_max_over_time", RangeFn::kTsMax},
      {"ts_of_min_over_time", RangeFn::kTsMin},
  };
  auto it = table.find(n);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

// Where a range function's window sits: (start, end] in ms.
struct Window {
  int64_t start;
  int64_t end;
  double range_seconds;
  int64_t eval_ms;  // the step's time (predict_linear's intercept)
};

// Prometheus's extrapolatedRate for floats.
std::optional<double> ExtrapolatedRate(Points p, const Window& w, bool counter, bool rate) {
  if (p.size() < 2) return std::nullopt;
  const store::Sample& first = p.front();
  const store::Sample& last = p.back();
  double result = last.value - first.value;
  if (counter) {
    for (size_t i = 1; i < p.size(); ++i) {
      if (p[i].value < p[i - 1].value) result += p[i - 1].value;
    }
  }
  double to_start = static_cast<double>(first.t_ms - w.start) / 1000;
  double to_end = static_cast<double>(w.end - last.t_ms) / 1000;
  const double sampled = static_cast<double>(last.t_ms - first.t_ms) / 1000;
  const double avg = sampled / static_cast<double>(p.size() - 1);
  const double threshold = avg * 1.1;
  if (to_start >= threshold) to_start = avg / 2;
  if (counter) {
    // Counters cannot go below zero: do not extrapolate past the zero point.
    double to_zero = to_start;
    if (result > 0 && first.value >= 0) to_zero = sampled * (first.value / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = avg / 2;
  double factor = (sampled + to_start + to_end) / sampled;
  if (rate) factor /= w.range_seconds;
  return result * factor;
}

std::optional<double> InstantValue(Points p, bool rate) {
  if (p.size() < 2) return std::nullopt;
  const store::Sample& a = p[p.size() - 2];
  const store::Sample& b = p[p.size() - 1];
  const int64_t interval = b.t_ms - a.t_ms;
  if (interval == 0) return std::nullopt;
  double result = b.value;
  if (!rate || !(b.value < a.value)) result = b.value - a.value;
  if (rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

// Least squares over (t - intercept_ms, value): slope and value at intercept.
std::pair<double, double> LinearRegression(Points p, int64_t intercept_ms) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0,
         c_x2 = 0;
  const double init_y = p[0].value;
  bool const_y = true;
  for (size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].value != init_y) const_y = false;
    n += 1.0;
    const double x = static_cast<double>(p[i].t_ms - intercept_ms) / 1e3;
    sum_x = KahanInc(x, sum_x, &c_x);
    sum_y = KahanInc(p[i].value, sum_y, &c_y);
    sum_xy = KahanInc(x * p[i].value, sum_xy, &c_xy);
    sum_x2 = KahanInc(x * x, sum_x2, &c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {kNaN, kNaN};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  const double slope = cov_xy / var_x;
  return {slope, sum_y / n - slope * sum_x / n};
}

double AvgOverTime(Points p) {
  double sum = p[0].value, count = 1, mean = 0, c = 0;
  bool incremental = false;
  for (size_t i = 1; i < p.size(); ++i) {
    const double f = p[i].value;
    count = static_cast<double>(i + 1);
    if (!incremental) {
      double new_c = c;
      const double new_sum = KahanInc(f, sum, &new_c);
      if (!std::isinf(new_sum)) {
        sum = new_sum;
        c = new_c;
        continue;
      }
      // The direct sum would overflow: continue with an incremental mean.
      incremental = true;
      mean = sum / (count - 1);
      c /= (count - 1);
    }
    const double q = (count - 1) / count;
    double qc = q * c;
    mean = KahanInc(f / count, q * mean, &qc);
    c = qc;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

double Variance(Points p) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const auto& s : p) {
    count++;
    const double delta = s.value - (mean + c_mean);
    mean = KahanInc(delta / count, mean, &c_mean);
    aux = KahanInc(delta * (s.value - (mean + c_mean)), aux, &c_aux);
  }
  return (aux + c_aux) / count;
}

// compareOverTime: the winning value, or its timestamp in seconds.
double CompareOverTime(Points p, bool (*better)(double cur, double best), bool timestamp) {
  double best = p[0].value;
  int64_t best_t = p[0].t_ms;
  for (const auto& s : p) {
    if (better(s.value, best)) {
      best = s.value;
      best_t = s.t_ms;
    }
  }
  return timestamp ? static_cast<double>(best_t) / 1000 : best;
}

std::optional<double> ApplyRangeFn(RangeFn fn, Points p, const Window& w, double param,
                                   std::vector<double>* scratch) {
  if (p.empty()) return std::nullopt;
  switch (fn) {
    case RangeFn::kRate: return ExtrapolatedRate(p, w, true, true);
    case RangeFn::kIncrease: return ExtrapolatedRate(p, w, true, false);
    case RangeFn::kDelta: return ExtrapolatedRate(p, w, false, false);
    case RangeFn::kIrate: return InstantValue(p, true);
    case RangeFn::kIdelta: return InstantValue(p, false);
    case RangeFn::kDeriv:
      if (p.size() < 2) return std::nullopt;
      return LinearRegression(p, p[0].t_ms).first;
    case RangeFn::kPredictLinear: {
      if (p.size() < 2) return std::nullopt;
      auto [slope, intercept] = LinearRegression(p, w.eval_ms);
      return slope * param + intercept;
    }
    case RangeFn::kResets: {
      double n = 0;
      for (size_t i = 1; i < p.size(); ++i) {
        if (p[i].value < p[i - 1].value) ++n;
      }
      return n;
    }
    case RangeFn::kChanges: {
      double n = 0;
      for (size_t i = 1; i < p.size(); ++i) {
        const double a = p[i - 1].value, b = p[i].value;
        if (a != b && !(std::isnan(a) && std::isnan(b))) ++n;
      }
      return n;
    }
    case RangeFn::kAvg: return AvgOverTime(p);
    case RangeFn::kMin:
      return CompareOverTime(
          p, [](double cur, double best) { return cur < best || std::isnan(best); }, false);
    case RangeFn::kMax:
      return CompareOverTime(
          p, [](double cur, double best) { return cur > best || std::isnan(best); }, false);
    case RangeFn::kTsMin:
      return CompareOverTime(
          p, [](double cur, double best) { return cur <= best || std::isnan(best); }, true);
    case RangeFn::kTsMax:
      return CompareOverTime(
          p, [](double cur, double best) { return cur >= best || std::isnan(best); }, true);
    case RangeFn::kSum: {
      double sum = 0, c = 0;
      for (const auto& s : p) sum = KahanInc(s.value, sum, &c);
      return std::isinf(sum) ? sum : sum + c;
    }
    case RangeFn::kCount: return static_cast<double>(p.size());
    case RangeFn::kQuantile: {
      scratch->clear();
      for (const auto& s : p) scratch->push_back(s.value);
      return Quantile(param, scratch);
    }
    case RangeFn::kStddev: return std::sqrt(Variance(p));
    case RangeFn::kStdvar: return Variance(p);
    case RangeFn::kLast: return p.back().value;
    case RangeFn::kFirst: return p.front().value;
    case RangeFn::kTsFirst: return static_cast<double>(p.front().t_ms) / 1000;
    case RangeFn::kTsLast: return static_cast<double>(p.back().t_ms) / 1000;
    case RangeFn::kPresent:
    case RangeFn::kAbsent:
      return 1.0;
    case RangeFn::kMad: {
      // A NaN sample makes the result NaN rather than being dropped.
      for (const auto& s : p) {
        if (std::isnan(s.value)) return kNaN;
      }
      scratch->clear();
      for (const auto& s : p) scratch->push_back(s.value);
      const double median = Quantile(0.5, scratch);
      scratch->clear();
      for (const auto& s : p) scratch->push_back(std::fabs(s.value - median));
      return Quantile(0.5, scratch);
    }
  }
  return std::nullopt;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// createLabelsForAbsentFunction: the labels an equality matcher pins down.
core::Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const VectorSelector* vs = e.as<VectorSelector>();
  if (const auto* ms = e.as<MatrixSelector>()) vs = &ms->selector;
  core::LabelsBuilder b;
  if (!vs) return b.Build();
  std::unordered_set<std::string> has;
  for (const auto& m : vs->matchers) {
    if (m.name() == kName) continue;
    if (m.type() == store::Matcher::Type::kEqual && !has.count(m.name())) {
      b.Set(m.name(), m.value());
      has.insert(m.name());
    } else {
      b.Del(m.name());
    }
  }
  return b.Build();
}

double SimpleMath(std::string_view n, double v) {
  if (n == "abs") return std::fabs(v);
  if (n == "ceil") return std::ceil(v);
  if (n == "floor") return std::floor(v);
  if (n == "exp") return std::exp(v);
  if (n == "sqrt") return std::sqrt(v);
  if (n == "ln") return std::log(v);
  if (n == "log2") return std::log2(v);
  if (n == "log10") return std::log10(v);
  if (n == "sgn") return v < 0 ? -1.0 : (v > 0 ? 1.0 : v);
  if (n == "sin") return std::sin(v);
  if (n == "cos") return std::cos(v);
  if (n == "tan") return std::tan(v);
  if (n == "asin") return std::asin(v);
  if (n == "acos") return std::acos(v);
  if (n == "atan") return std::atan(v);
  if (n == "sinh") return std::sinh(v);
  if (n == "cosh") return std::cosh(v);
  if (n == "tanh") return std::tanh(v);
  if (n == "asinh") return std::asinh(v);
  if (n == "acosh") return std::acosh(v);
  if (n == "atanh") return std::atanh(v);
  if (n == "deg") return v * 180 / M_PI;
  if (n == "rad") return v * M_PI / 180;
  return kNaN;
}

bool IsSimpleMath(std::string_view n) {
  static const std::unordered_set<std::string_view> names = {
      "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin", "cos",
      "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
      "deg", "rad"};
  return names.count(n) > 0;
}

// Civil date of Unix seconds (UTC), Howard Hinnant's days_from_civil inverse.
struct CivilTime {
  int64_t year;
  int month, day, hour, minute, weekday, yday;
};

CivilTime ToCivil(int64_t secs) {
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  CivilTime c;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>((rem % 3600) / 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  static const int kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  const bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  c.yday = kCum[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
  return c;
}

double DateField(std::string_view n, const CivilTime& c) {
  if (n == "year") return static_cast<double>(c.year);
  if (n == "month") return c.month;
  if (n == "day_of_month") return c.day;
  if (n == "day_of_week") return c.weekday;
  if (n == "day_of_year") return c.yday;
  if (n == "hour") return c.hour;
  if (n == "minute") return c.minute;
  // days_in_month
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  return kDays[c.month - 1] + (leap && c.month == 2 ? 1 : 0);
}

bool IsDateFn(std::string_view n) {
  return n == "year" || n == "month" || n == "day_of_month" || n == "day_of_week" ||
         n == "day_of_year" || n == "hour" || n == "minute" || n == "days_in_month";
}

// Go's Regexp.Expand for label_replace: $1, ${1}, $name, ${name}, $$.
std::string Expand(std::string_view tmpl, const RE2& re, const std::vector<re2::StringPiece>& groups) {
  std::string out;
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // extract(): a name of letters, digits and '_', optionally in braces.
    std::string_view rest = tmpl;
    bool brace = false;
    if (!rest.empty() && rest[0] == '{') {
      brace = true;
      rest.remove_prefix(1);
    }
    size_t i = 0;
    while (i < rest.size()) {
      const char c = rest[i];
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80)) {
        break;
      }
      ++i;
    }
    if (i == 0 || (brace && (i >= rest.size() || rest[i] != '}'))) {
      out.push_back('$');  // malformed: the '$' is literal text
      continue;
    }
    const std::string_view name = rest.substr(0, i);
    tmpl = rest.substr(i + (brace ? 1 : 0));
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;
    if (num >= 0) {
      if (static_cast<size_t>(num) < groups.size() && groups[num].data() != nullptr) {
        out.append(groups[num].data(), groups[num].size());
      }
      continue;
    }
    const auto& named = re.NamedCapturingGroups();
    auto it = named.find(std::string(name));
    if (it != named.end() && static_cast<size_t>(it->second) < groups.size() &&
        groups[it->second].data() != nullptr) {
      out.append(groups[it->second].data(), groups[it->second].size());
    }
  }
  out.append(tmpl);
  return out;
}

const std::string& StringArg(const Expr& e) { return Unparen(e).as<StringLiteral>()->value; }

struct Bucket {
  double upper;
  double count;
};

// Prometheus's BucketQuantile for classic buckets; *forced tells whether
// non-monotonic counts had to be fixed.
double BucketQuantile(double q, std::vector<Bucket>* b, bool* forced) {
  *forced = false;
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::sort(b->begin(), b->end(), [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!(std::isinf(b->back().upper) && b->back().upper > 0)) return kNaN;
  // Coalesce buckets with the same upper bound.
  size_t n = 0;
  for (size_t i = 1; i < b->size(); ++i) {
    if ((*b)[i].upper == (*b)[n].upper) {
      (*b)[n].count += (*b)[i].count;
    } else {
      (*b)[++n] = (*b)[i];
    }
  }
  b->resize(n + 1);
  // Ignore float noise, then take the envelope of the counts.
  bool fixed_monotonic = false;
  double prev = (*b)[0].count;
  for (size_t i = 1; i < b->size(); ++i) {
    const double curr = (*b)[i].count;
    if (curr == prev) continue;
    if (AlmostEqual(prev, curr, 1e-12)) {
      (*b)[i].count = prev;
      continue;
    }
    if (curr < prev) {
      (*b)[i].count = prev;
      fixed_monotonic = true;
      continue;
    }
    prev = curr;
  }
  if (b->size() < 2) return kNaN;
  const double observations = b->back().count;
  if (observations == 0) return kNaN;
  *forced = fixed_monotonic;
  double rank = q * observations;
  // Go's sort.Search over all but the +Inf bucket.
  size_t lo = 0, hi = b->size() - 1;
  while (lo < hi) {
    const size_t h = (lo + hi) / 2;
    if (!((*b)[h].count >= rank)) {
      lo = h + 1;
    } else {
      hi = h;
    }
  }
  const size_t idx = lo;
  if (idx == b->size() - 1) return (*b)[b->size() - 2].upper;
  if (idx == 0 && (*b)[0].upper <= 0) return (*b)[0].upper;
  double start = 0;
  const double end = (*b)[idx].upper;
  double count = (*b)[idx].count;
  if (idx > 0) {
    start = (*b)[idx - 1].upper;
    count -= (*b)[idx - 1].count;
    rank -= (*b)[idx - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace

void Evaluator::CounterInfo(std::string_view metric, const Expr& at) {
  Info("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: " +
           GoQuote(metric),
       at);
}

core::Status Evaluator::HistogramQuantile(const Call& call, int64_t t, StepValue* out) {
  StepValue qv;
  if (auto st = Eval(*call.args[0], t, &qv); !st.ok()) return st;
  const double q = qv.scalar;
  const Expr& q_expr = Unparen(*call.args[0]);
  const Expr& v_expr = Unparen(*call.args[1]);
  if (std::isnan(q) || q < 0 || q > 1) {
    Warn("quantile value should be between 0 and 1, got " + FormatFloatG(q), q_expr);
  }
  StepValue in;
  if (auto st = Eval(v_expr, t, &in); !st.ok()) return st;
  struct Group {
    const core::Labels* labels;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  std::unordered_map<uint64_t, size_t> by_signature;
  for (const Sample& s : in.vec) {
    const std::string_view le = s.labels->Get("le");
    const std::optional<double> upper = ParseGoFloat(le);
    if (!upper) {
      std::string msg = "bucket label \"le\" is missing or has a malformed value of " + GoQuote(le);
      const std::string_view metric = s.labels->Get(kName);
      if (!metric.empty()) msg += " for metric name " + GoQuote(metric);
      Warn(msg, v_expr);
      continue;
    }
    // Every label but le identifies the histogram (the name included).
    scratch_.clear();
    for (const core::Label l : *s.labels) {
      if (l.name == "le") continue;
      scratch_.append(l.name).push_back('\xff');
      scratch_.append(l.value).push_back('\xff');
    }
    const uint64_t sig = core::Hash64(scratch_);
    auto [it, inserted] = by_signature.try_emplace(sig, groups.size());
    if (inserted) {
      core::LabelsBuilder b(*s.labels);
      b.Del("le").Del(kName);
      groups.push_back(Group{Intern(b.Build()), {}});
    }
    groups[it->second].buckets.push_back(Bucket{*upper, s.value});
  }
  out->type = ValueType::kVector;
  for (Group& g : groups) {
    bool forced = false;
    const double v = BucketQuantile(q, &g.buckets, &forced);
    if (forced) {
      Info("input to histogram_quantile needed to be fixed for monotonicity (see "
           "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)",
           v_expr);
    }
    out->vec.push_back(Sample{g.labels, v, t, true});
  }
  return Account(out->vec.size());
}

core::Status Evaluator::EvalCall(const Expr& e, const Call& call, int64_t t, StepValue* out) {
  const std::string_view name = call.func->name;
  out->type = call.func->return_type;
  out->vec.clear();

  // Scalar arguments at this step, by position (NaN where not a scalar).
  auto scalar_arg = [&](size_t i, double* v) -> core::Status {
    StepValue sv;
    if (auto st = Eval(*call.args[i], t, &sv); !st.ok()) return st;
    *v = sv.scalar;
    return core::Status::Ok();
  };

  if (auto fn = RangeFnByName(name)) {
    size_t matrix_index = 0;
    double param = 0;
    if (*fn == RangeFn::kQuantile) {
      matrix_index = 1;
      if (auto st = scalar_arg(0, &param); !st.ok()) return st;
    } else if (*fn == RangeFn::kPredictLinear) {
      if (auto st = scalar_arg(1, &param); !st.ok()) return st;
    }
    const Expr& arg = Unparen(*call.args[matrix_index]);
    if (*fn == RangeFn::kQuantile && (std::isnan(param) || param < 0 || param > 1)) {
      // Only once there is data, as Prometheus warns from inside the call.
    }
    const bool drop_name = *fn != RangeFn::kLast && *fn != RangeFn::kFirst;
    const bool counter_check = *fn == RangeFn::kRate || *fn == RangeFn::kIncrease;
    bool any = false;
    std::vector<double> scratch;
    std::string_view last_checked;
    std::vector<std::string> counter_infos;
    // rate()/increase() on a name that does not look like a counter raises
    // an info. With name="x" in the selector every series has that name, so
    // the labels (a cache miss per series) need not be read.
    std::optional<std::string_view> fixed_name;
    if (const auto* ms = arg.as<MatrixSelector>()) {
      for (const auto& m : ms->selector.matchers) {
        if (m.name() == kName && m.type() == store::Matcher::Type::kEqual) fixed_name = m.value();
      }
    }
    auto check_counter = [&](const core::Labels* labels) {
      const std::string_view metric = fixed_name ? *fixed_name : labels->Get(kName);
      if (metric == last_checked) return;
      last_checked = metric;
      if (!metric.empty() && !EndsWith(metric, "_total") && !EndsWith(metric, "_sum") &&
          !EndsWith(metric, "_count") && !EndsWith(metric, "_bucket")) {
        CounterInfo(metric, arg);
        counter_infos.emplace_back(metric);
      }
    };
    auto emit = [&](const core::Labels* labels, Points p, const Window& w,
                    bool input_drop_name) -> core::Status {
      if (p.empty()) return core::Status::Ok();
      if (*fn == RangeFn::kQuantile && (std::isnan(param) || param < 0 || param > 1)) {
        Warn("quantile value should be between 0 and 1, got " + FormatFloatG(param),
             Unparen(*call.args[0]));
      }
      auto v = ApplyRangeFn(*fn, p, w, param, &scratch);
      if (!v) return core::Status::Ok();
      any = true;
      if (*fn == RangeFn::kAbsent) return core::Status::Ok();
      // last/first_over_time act like an offset: the input's name rule stays.
      out->vec.push_back(Sample{labels, *v, t, drop_name || input_drop_name});
      if (counter_check) check_counter(labels);
      return core::Status::Ok();
    };
    // Calls over a plain range selector are shared by the queries of a round.
    const auto* cached_ms = arg.as<MatrixSelector>();
    std::string cache_key;
    if (cache_ && t == cache_->t_ms && cached_ms && *fn != RangeFn::kAbsent &&
        *fn != RangeFn::kQuantile && *fn != RangeFn::kPredictLinear) {
      cache_key = std::string(name) + "\xff" + SelectorKey(cached_ms->selector, true) + "\xff" +
                  std::to_string(cached_ms->range_ms);
      auto it = cache_->calls.find(cache_key);
      if (it != cache_->calls.end()) {
        out->vec = it->second.samples;
        for (const auto& m : it->second.counter_infos) CounterInfo(m, arg);
        return Account(out->vec.size());
      }
    }
    if (const auto* ms = arg.as<MatrixSelector>()) {
      const Selection& sel = SelectionFor(ms->selector);
      const int64_t ref = RefTime(ms->selector.at, ms->selector.at_ms, ms->selector.offset_ms, t);
      const Window w{ref - ms->range_ms, ref, static_cast<double>(ms->range_ms) / 1000, t};
      out->vec.reserve(sel.refs.size());
      // Per series memo: only for functions whose value depends on the
      // window alone (not on a parameter or on how many series there are).
      QueryCache::Impl::SeriesMemo* memo = nullptr;
      if (!cache_key.empty()) {
        memo = &cache_->per_series[std::string(name) + "\xff" + std::to_string(ms->range_ms) +
                                   "\xff" + std::to_string(ref)];
      }
      for (size_t i = 0; i < sel.refs.size(); ++i) {
        const uint32_t slot = sel.refs[i].slot;
        if (memo && slot < memo->state.size() && memo->state[slot] != 0) {
          if (memo->state[slot] == 1) {
            out->vec.push_back(Sample{sel.labels[i], memo->value[slot], t, drop_name});
            any = true;
            if (counter_check) check_counter(sel.labels[i]);
          }
          continue;  // known: a value, or none
        }
        const size_t before = out->vec.size();
        LoadRange(sel.refs[i], ref, ms->range_ms, &buffer_);
        if (auto st = Account(buffer_.size()); !st.ok()) return st;
        step_samples_ -= static_cast<int64_t>(buffer_.size());  // the buffer is reused
        if (auto st = emit(sel.labels[i], buffer_, w, false); !st.ok()) return st;
        if (memo) {
          if (slot >= memo->state.size()) {
            memo->state.resize(slot + 1024, 0);
            memo->value.resize(slot + 1024, 0);
          }
          const bool produced = out->vec.size() > before;
          memo->state[slot] = produced ? 1 : 2;
          if (produced) memo->value[slot] = out->vec.back().value;
        }
        if (*fn == RangeFn::kAbsent && any) break;
      }
    } else if (const auto* sq = arg.as<SubqueryExpr>()) {
      std::vector<RangeSeries> series;
      if (auto st = EvalSubquery(*sq, t, &series); !st.ok()) return st;
      const int64_t ref = RefTime(sq->at, sq->at_ms, sq->offset_ms, t);
      const Window w{ref - sq->range_ms, ref, static_cast<double>(sq->range_ms) / 1000, t};
      for (const auto& rs : series) {
        if (auto st = emit(rs.labels, rs.points, w, rs.drop_name); !st.ok()) return st;
      }
    } else {
      return core::Status::InvalidArgument("expected a range vector in call to function " +
                                           GoQuote(name));
    }
    if (*fn == RangeFn::kAbsent && !any) {
      out->vec.push_back(Sample{Intern(AbsentLabels(arg)), 1, t, true});
    }
    if (!cache_key.empty()) {
      cache_->calls.emplace(std::move(cache_key), CachedCall{out->vec, std::move(counter_infos)});
    }
    return Account(out->vec.size());
  }

  if (name == "time") {
    out->scalar = static_cast<double>(t) / 1000;
    return core::Status::Ok();
  }
  if (name == "pi") {
    out->scalar = M_PI;
    return core::Status::Ok();
  }
  if (name == "vector") {
    double v;
    if (auto st = scalar_arg(0, &v); !st.ok()) return st;
    out->vec.push_back(Sample{EmptyLabels(), v, t, false});
    return core::Status::Ok();
  }
  if (IsDateFn(name) && call.args.empty()) {
    const int64_t secs = t / 1000;  // Go truncates toward zero too
    out->vec.push_back(Sample{EmptyLabels(), DateField(name, ToCivil(secs)), t, false});
    return core::Status::Ok();
  }

  if (name == "histogram_quantile") return HistogramQuantile(call, t, out);

  // Every other function takes an instant vector first.
  StepValue in;
  const Expr& arg0 = Unparen(*call.args[0]);
  if (auto st = Eval(arg0, t, &in); !st.ok()) return st;
  Vec& vec = in.vec;

  if (name == "scalar") {
    out->scalar = vec.size() == 1 ? vec[0].value : kNaN;
    return core::Status::Ok();
  }
  if (IsSimpleMath(name)) {
    for (Sample s : vec) {
      s.value = SimpleMath(name, s.value);
      s.drop_name = true;
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  if (IsDateFn(name)) {
    for (Sample s : vec) {
      const double secs = std::trunc(s.value);
      s.value = std::isfinite(secs) && std::fabs(secs) < 9.2e15
                    ? DateField(name, ToCivil(static_cast<int64_t>(secs)))
                    : kNaN;
      s.drop_name = true;
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  if (name == "round") {
    double to_nearest = 1;
    if (call.args.size() > 1) {
      if (auto st = scalar_arg(1, &to_nearest); !st.ok()) return st;
    }
    const double inverse = 1.0 / to_nearest;
    for (Sample s : vec) {
      s.value = std::floor(s.value * inverse + 0.5) / inverse;
      s.drop_name = true;
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    double lo = -kInf, hi = kInf;
    if (name == "clamp") {
      if (auto st = scalar_arg(1, &lo); !st.ok()) return st;
      if (auto st = scalar_arg(2, &hi); !st.ok()) return st;
    } else if (name == "clamp_min") {
      if (auto st = scalar_arg(1, &lo); !st.ok()) return st;
    } else {
      if (auto st = scalar_arg(1, &hi); !st.ok()) return st;
    }
    if (hi < lo) return core::Status::Ok();
    for (Sample s : vec) {
      s.value = GoMax(lo, GoMin(hi, s.value));
      s.drop_name = true;
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  if (name == "timestamp") {
    const bool from_selector = arg0.as<VectorSelector>() != nullptr;
    for (Sample s : vec) {
      s.value = static_cast<double>(from_selector ? s.t : t) / 1000;
      s.drop_name = true;
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  if (name == "sort" || name == "sort_desc") {
    if (start_ms_ != end_ms_) {
      Warn("sort is ineffective for range queries since results are always ordered by labels", e);
    }
    const bool desc = name == "sort_desc";
    *out = std::move(in);
    out->type = ValueType::kVector;
    std::stable_sort(out->vec.begin(), out->vec.end(), [desc](const Sample& a, const Sample& b) {
      if (std::isnan(a.value)) return false;  // NaN last either way
      if (std::isnan(b.value)) return true;
      return desc ? a.value > b.value : a.value < b.value;
    });
    return core::Status::Ok();
  }
  if (name == "absent") {
    if (vec.empty()) out->vec.push_back(Sample{Intern(AbsentLabels(arg0)), 1, t, false});
    return core::Status::Ok();
  }
  if (name == "label_replace" || name == "label_join") {
    const std::string& dst = StringArg(*call.args[1]);
    if (dst.empty() || !IsValidUTF8(dst)) {
      return core::Status::InvalidArgument("invalid destination label name in " +
                                           std::string(name) + "(): " + dst);
    }
    const bool is_replace = name == "label_replace";
    std::shared_ptr<RE2> re;
    std::vector<std::string> sources;
    if (is_replace) {
      const std::string& pattern = StringArg(*call.args[4]);
      RE2::Options opts;
      opts.set_log_errors(false);
      opts.set_dot_nl(true);
      re = std::make_shared<RE2>("^(?s:" + pattern + ")$", opts);
      if (!re->ok()) {
        return core::Status::InvalidArgument("invalid regular expression in label_replace(): " +
                                             pattern);
      }
    } else {
      for (size_t i = 3; i < call.args.size(); ++i) {
        const std::string& src = StringArg(*call.args[i]);
        if (src.empty() || !IsValidUTF8(src)) {
          return core::Status::InvalidArgument("invalid source label name in label_join(): " +
                                               src);
        }
        sources.push_back(src);
      }
    }
    const std::string& sep_or_repl = StringArg(*call.args[2]);
    std::vector<re2::StringPiece> groups(re ? static_cast<size_t>(re->NumberOfCapturingGroups()) + 1
                                            : 0);
    std::unordered_set<uint64_t> seen;
    for (Sample s : vec) {
      std::string value;
      bool set = true;
      if (is_replace) {
        const std::string_view src = s.labels->Get(StringArg(*call.args[3]));
        re2::StringPiece text(src.data(), src.size());
        set = re->Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(),
                        static_cast<int>(groups.size()));
        if (set) value = Expand(sep_or_repl, *re, groups);
      } else {
        for (size_t i = 0; i < sources.size(); ++i) {
          if (i > 0) value += sep_or_repl;
          value += s.labels->Get(sources[i]);
        }
      }
      if (set && s.labels->Get(dst) != value) {
        core::LabelsBuilder b(*s.labels);
        b.Set(dst, value);
        s.labels = Intern(b.Build());
      }
      if (set && dst == kName) s.drop_name = false;
      if (!seen.insert(s.labels->hash()).second) {
        return core::Status::InvalidArgument("vector cannot contain metrics with the same labelset");
      }
      out->vec.push_back(s);
    }
    return Account(out->vec.size());
  }
  return core::Status::Unimplemented("function " + GoQuote(name) + " is not implemented");
}

}  // namespace amas::promql::eval
