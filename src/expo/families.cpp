#include "expo/families.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "expo/number.h"

namespace amas::expo::internal {
namespace {

bool Fail(SyntaxError* err, const char* pos, std::string message) {
  err->pos = pos;
  err->message = std::move(message);
  return false;
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateset:
      return "stateset";
    case MetricType::kUnknown:
      break;
  }
  return "unknown";
}

// The sample-name suffixes an OpenMetrics family of each type may use.
const std::vector<std::string_view>& Suffixes(MetricType t) {
  static const std::vector<std::string_view> kCounter = {"_total", "_created"};
  static const std::vector<std::string_view> kSummary = {"", "_count", "_sum", "_created"};
  static const std::vector<std::string_view> kHistogram = {"_count", "_sum", "_bucket", "_created"};
  static const std::vector<std::string_view> kGaugeHistogram = {"_gcount", "_gsum", "_bucket"};
  static const std::vector<std::string_view> kInfo = {"_info"};
  static const std::vector<std::string_view> kPlain = {""};
  switch (t) {
    case MetricType::kCounter:
      return kCounter;
    case MetricType::kSummary:
      return kSummary;
    case MetricType::kHistogram:
      return kHistogram;
    case MetricType::kGaugeHistogram:
      return kGaugeHistogram;
    case MetricType::kInfo:
      return kInfo;
    default:
      return kPlain;
  }
}

const DecodedLabel* FindLabel(const std::vector<DecodedLabel>& labels, std::string_view name) {
  for (const DecodedLabel& l : labels) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool IsInteger(double v) { return std::isfinite(v) && v == std::floor(v); }

void AppendSized(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

}  // namespace

// ---------------------------------------------------------------- text 0.0.4

TextFamilies::Family* TextFamilies::Find(std::string_view name) {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : &it->second;
}

TextFamilies::Resolved TextFamilies::Resolve(std::string_view name) {
  if (Family* f = Find(name)) return {f, SampleRole::kPlain};
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.ends_with(suffix);
  };
  SampleRole role = SampleRole::kPlain;
  size_t cut = 0;
  if (ends("_count")) {
    role = SampleRole::kCount;
    cut = 6;
  } else if (ends("_sum")) {
    role = SampleRole::kSum;
    cut = 4;
  } else if (ends("_bucket")) {
    role = SampleRole::kBucket;
    cut = 7;
  }
  if (cut > 0) {
    if (Family* f = Find(name.substr(0, name.size() - cut))) {
      if ((f->type == MetricType::kSummary && role != SampleRole::kBucket) ||
          f->type == MetricType::kHistogram) {
        return {f, role};
      }
    }
  }
  auto [it, inserted] = families_.try_emplace(std::string(name));
  it->second.name = it->first;
  return {&it->second, SampleRole::kPlain};
}

// ---------------------------------------------------------------- OpenMetrics

bool OpenMetricsFamilies::Allows(const Family& f, std::string_view sample_name,
                                 std::string_view* suffix) const {
  if (!f.started || !sample_name.starts_with(f.name)) return false;
  const std::string_view rest = sample_name.substr(f.name.size());
  for (std::string_view s : Suffixes(f.type)) {
    if (rest == s) {
      *suffix = rest;
      return true;
    }
  }
  return false;
}

void OpenMetricsFamilies::Start(std::string_view name, const char* line_begin) {
  current_ = Family();
  current_.name.assign(name);
  current_.started = true;
  current_.begin = line_begin;
  seen_groups_.clear();
  has_group_ = false;
  group_series_.clear();
  point_ = Point();
}

bool OpenMetricsFamilies::OnMetadata(Entry kind, std::string_view name, MetricType type,
                                     std::string_view unit, const char* line_begin,
                                     SyntaxError* err) {
  if (!current_.started || name != current_.name) {
    if (spec_ && !FinishFamily(line_begin, err)) return false;
    Start(name, line_begin);
  } else if (spec_) {
    if (current_.has_samples) {
      return Fail(err, line_begin,
                  "metadata for metric family " + Quote(name) + " after its samples");
    }
    const bool repeated = (kind == Entry::kHelp && current_.help_set) ||
                          (kind == Entry::kType && current_.type_set) ||
                          (kind == Entry::kUnit && current_.unit_set);
    if (repeated) {
      const char* what = kind == Entry::kHelp ? "HELP" : kind == Entry::kType ? "TYPE" : "UNIT";
      return Fail(err, line_begin,
                  std::string("second ") + what + " line for metric family " + Quote(name));
    }
  }
  switch (kind) {
    case Entry::kType:
      current_.type = type;
      current_.type_set = true;
      break;
    case Entry::kHelp:
      current_.help_set = true;
      break;
    case Entry::kUnit:
      current_.unit_set = true;
      current_.unit.assign(unit);
      break;
    default:
      break;
  }
  return true;
}

bool OpenMetricsFamilies::OnSample(const OmSample& s, SyntaxError* err) {
  std::string_view suffix;
  if (!Allows(current_, s.name, &suffix)) {
    if (spec_ && !FinishFamily(s.line_begin, err)) return false;
    Start(s.name, s.line_begin);
    suffix = {};
  }
  current_.has_samples = true;
  if (!spec_) return true;
  return CheckSample(s, suffix, err);
}

bool OpenMetricsFamilies::CheckSample(const OmSample& s, std::string_view suffix,
                                      SyntaxError* err) {
  const std::vector<DecodedLabel>& labels = *s.labels;
  const MetricType type = current_.type;
  const std::string& family = current_.name;
  const char* at = s.line_begin;
  const bool histogram = type == MetricType::kHistogram || type == MetricType::kGaugeHistogram;
  const bool bucket = suffix == "_bucket";

  // The label that tells a metric's samples apart within it.
  std::string_view special;
  if (type == MetricType::kSummary && suffix.empty()) special = "quantile";
  if (type == MetricType::kStateset) special = family;
  if (histogram && bucket) special = "le";

  if (type == MetricType::kStateset && FindLabel(labels, family) == nullptr) {
    return Fail(err, at, "stateset sample needs a label named " + Quote(family));
  }
  double le = 0;
  if (bucket) {
    const DecodedLabel* l = FindLabel(labels, "le");
    if (l == nullptr) return Fail(err, at, "histogram bucket without an \"le\" label");
    if (l->value == "NaN" || !ParseFloat(l->value, &le) || std::isnan(le)) {
      return Fail(err, l->value_pos, "invalid \"le\" value " + Quote(l->value));
    }
    if (std::isinf(le) && l->value != "+Inf" && l->value != "-Inf") {
      return Fail(err, l->value_pos,
                  "infinite \"le\" must be written \"+Inf\", got " + Quote(l->value));
    }
    if (!IsInteger(s.value)) return Fail(err, at, "bucket value must be an integer");
  }
  if ((suffix == "_count" || suffix == "_gcount") && !IsInteger(s.value)) {
    return Fail(err, at, "count value must be an integer");
  }
  if (type == MetricType::kSummary && suffix.empty()) {
    const DecodedLabel* l = FindLabel(labels, "quantile");
    double q = 0;
    if (l == nullptr) return Fail(err, at, "summary quantile sample without a \"quantile\" label");
    if (!ParseFloat(l->value, &q) || !(q >= 0 && q <= 1)) {
      return Fail(err, l->value_pos, "quantile must be a number in [0, 1], got " + Quote(l->value));
    }
  }

  // Metric grouping: the label set without the special label.
  std::vector<const DecodedLabel*> sorted;
  sorted.reserve(labels.size());
  if (type != MetricType::kInfo) {  // the spec cannot tell info metrics apart
    for (const DecodedLabel& l : labels) {
      if (l.name != special) sorted.push_back(&l);
    }
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const DecodedLabel* a, const DecodedLabel* b) { return a->name < b->name; });
  key_.clear();
  for (const DecodedLabel* l : sorted) {
    AppendSized(&key_, l->name);
    AppendSized(&key_, l->value);
  }
  const bool same_group = has_group_ && key_ == group_;
  if (has_group_ && !same_group && seen_groups_.contains(key_)) {
    return Fail(err, at,
                "samples of one metric of family " + Quote(family) + " are not contiguous");
  }
  if (same_group) {
    if (s.has_timestamp != group_has_timestamp_) {
      return Fail(err, at, "samples of one metric mix lines with and without a timestamp");
    }
    if (s.has_timestamp && group_timestamp_ > s.timestamp_seconds && type != MetricType::kInfo) {
      return Fail(err, at, "timestamps of one metric go backwards");
    }
  } else {
    group_series_.clear();
  }
  // A repeated series at the same timestamp does not count twice for the
  // histogram rules (the suite accepts duplicates with timestamps).
  std::string series_id(suffix);
  series_id.push_back('\0');
  for (const DecodedLabel& l : labels) {
    AppendSized(&series_id, l.name);
    AppendSized(&series_id, l.value);
  }
  const bool same_time = !same_group
                             ? false
                             : (s.has_timestamp == group_has_timestamp_ &&
                                (!s.has_timestamp || s.timestamp_seconds == group_timestamp_));
  const bool duplicate = same_time && group_series_.contains(series_id);
  group_series_.insert(std::move(series_id));
  if (!same_group) seen_groups_.insert(key_);
  group_ = key_;
  has_group_ = true;
  group_has_timestamp_ = s.has_timestamp;
  group_timestamp_ = s.timestamp_seconds;

  const double v = s.value;
  if (type == MetricType::kStateset && v != 0 && v != 1) {
    return Fail(err, at, "stateset values must be 0 or 1");
  }
  if (type == MetricType::kInfo && v != 1) return Fail(err, at, "info values must be 1");
  if (type == MetricType::kSummary && suffix.empty() && v < 0) {
    return Fail(err, at, "quantile values must not be negative");
  }
  const bool counter_like = suffix == "_total" || suffix == "_sum" || suffix == "_count" ||
                            suffix == "_bucket" || suffix == "_gcount";
  if ((counter_like || suffix == "_gsum") && std::isnan(v)) {
    return Fail(err, at, "counter-like sample " + Quote(s.name) + " must not be NaN");
  }
  if (counter_like && v < 0) {
    return Fail(err, at, "counter-like sample " + Quote(s.name) + " must not be negative");
  }
  if (s.has_exemplar) {
    const bool allowed =
        (histogram && bucket) || (type == MetricType::kCounter && suffix == "_total");
    if (!allowed) {
      return Fail(err, at,
                  "exemplars are only allowed on counter _total and histogram "
                  "_bucket samples");
    }
    if (s.exemplar_code_points > 128) {
      return Fail(err, at, "exemplar labels exceed 128 UTF-8 characters");
    }
  }

  if (histogram && !suffix.empty() && !duplicate) {
    const bool new_point = !point_.open || point_.group != key_ ||
                           point_.has_timestamp != s.has_timestamp ||
                           (s.has_timestamp && point_.timestamp != s.timestamp_seconds);
    if (new_point) {
      if (point_.open && !FinishPoint(at, err)) return false;
      point_ = Point();
      point_.open = true;
      point_.group = key_;
      point_.has_timestamp = s.has_timestamp;
      point_.timestamp = s.timestamp_seconds;
    }
    if (bucket) {
      if (le < 0) point_.negative_bucket = true;
      if (point_.has_bucket && le <= point_.bucket) {
        return Fail(err, at, "histogram buckets of " + Quote(family) + " are not in order");
      }
      if (v < point_.bucket_value) {
        return Fail(err, at, "histogram bucket values of " + Quote(family) + " decrease");
      }
      point_.has_bucket = true;
      point_.bucket = le;
      point_.bucket_value = v;
    } else if (suffix == "_count" || suffix == "_gcount") {
      point_.has_count = true;
      point_.count = v;
    } else if (suffix == "_sum") {
      point_.has_sum = true;
    } else if (suffix == "_gsum") {
      point_.has_gsum = true;
      if (v < 0) point_.negative_gsum = true;
    }
  }
  return true;
}

bool OpenMetricsFamilies::FinishPoint(const char* pos, SyntaxError* err) {
  const Point& p = point_;
  const std::string& family = current_.name;
  const bool gauge = current_.type == MetricType::kGaugeHistogram;
  if (!p.has_bucket || !std::isinf(p.bucket) || p.bucket < 0) {
    return Fail(err, pos, "histogram " + Quote(family) + " lacks its +Inf bucket");
  }
  if (p.has_count && p.count != p.bucket_value) {
    return Fail(err, pos,
                std::string(gauge ? "_gcount" : "_count") + " of histogram " + Quote(family) +
                    " differs from its +Inf bucket");
  }
  if (p.has_sum && !p.has_count) {
    return Fail(err, pos, "histogram " + Quote(family) + " has _sum but no _count");
  }
  if (p.has_gsum && !p.has_count) {
    return Fail(err, pos, "gauge histogram " + Quote(family) + " has _gsum but no _gcount");
  }
  if (!p.has_sum && !p.has_gsum && p.has_count) {
    return Fail(err, pos, "histogram " + Quote(family) + " has a count but no sum");
  }
  if (p.negative_bucket && p.has_sum) {
    return Fail(err, pos, "histogram " + Quote(family) + " has negative buckets and a _sum");
  }
  if (!p.negative_bucket && p.negative_gsum) {
    return Fail(
        err, pos,
        "gauge histogram " + Quote(family) + " has a negative _gsum but no negative bucket");
  }
  return true;
}

bool OpenMetricsFamilies::FinishFamily(const char* pos, SyntaxError* err) {
  if (!current_.started) return true;
  if (point_.open) {
    if (!FinishPoint(pos, err)) return false;
    point_.open = false;
  }
  const MetricType type = current_.type;
  std::vector<std::string_view> suffixes = Suffixes(type);
  if (std::find(suffixes.begin(), suffixes.end(), "") == suffixes.end()) suffixes.push_back("");
  for (std::string_view s : suffixes) {
    std::string name = current_.name + std::string(s);
    if (!seen_names_.insert(name).second) {
      return Fail(err, current_.begin,
                  "metric family " + Quote(current_.name) + " clashes with the sample name " +
                      Quote(name) + " of an earlier family (or repeats one)");
    }
  }
  if (!current_.unit.empty() && (type == MetricType::kInfo || type == MetricType::kStateset)) {
    return Fail(err, current_.begin,
                std::string(TypeName(type)) + " metric family " + Quote(current_.name) +
                    " must not have a UNIT");
  }
  current_.started = false;
  return true;
}

bool OpenMetricsFamilies::Finish(const char* pos, SyntaxError* err) {
  if (!spec_) return true;
  return FinishFamily(pos, err);
}

}  // namespace amas::expo::internal
