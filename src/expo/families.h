// families.h: which metric family a sample belongs to, and the rules that
// span lines. Text 0.0.4 follows expfmt (a family is found by name, with
// _count/_sum/_bucket folded into a typed summary or histogram; HELP and
// TYPE at most once, TYPE before samples). OpenMetrics follows the spec's
// sample-name suffixes per type; with spec rules on it also checks what the
// OpenMetrics 1.0 conformance suite demands across lines.
#ifndef AMAS_EXPO_FAMILIES_H_
#define AMAS_EXPO_FAMILIES_H_

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "expo/expo.h"
#include "expo/label_block.h"

namespace amas::expo::internal {

// What part of its family a text sample is.
enum class SampleRole { kPlain, kCount, kSum, kBucket };

class TextFamilies {
 public:
  struct Family {
    std::string_view name;  // the map key
    MetricType type = MetricType::kUnknown;
    bool type_set = false;  // by a TYPE line, or "untyped" by the first sample
    bool help_set = false;
    bool has_samples = false;
  };
  struct Resolved {
    Family* family;
    SampleRole role;
  };

  // expfmt's lookup: the exact name, else a summary for x_count/x_sum, else
  // a histogram for x_count/x_sum/x_bucket, else a new family of that name.
  Resolved Resolve(std::string_view name);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  Family* Find(std::string_view name);
  // Node-based: Family::name views its own key, which never moves.
  std::unordered_map<std::string, Family, Hash, std::equal_to<>> families_;
};

// A sample as the OpenMetrics rules see it.
struct OmSample {
  std::string_view name;                    // decoded metric name
  const std::vector<DecodedLabel>* labels;  // decoded, spec rules only
  double value;
  bool has_timestamp;
  double timestamp_seconds;
  bool has_exemplar;
  size_t exemplar_code_points;  // label names and values of the exemplar
  const char* line_begin;
};

class OpenMetricsFamilies {
 public:
  explicit OpenMetricsFamilies(bool spec_rules) : spec_(spec_rules) {}

  bool OnMetadata(Entry kind, std::string_view name, MetricType type, std::string_view unit,
                  const char* line_begin, SyntaxError* err);
  bool OnSample(const OmSample& s, SyntaxError* err);
  // At "# EOF": the last family's checks.
  bool Finish(const char* pos, SyntaxError* err);

  // The family of the last sample or metadata line.
  MetricType type() const { return current_.type; }
  std::string_view name() const { return current_.name; }

 private:
  struct Family {
    std::string name;
    MetricType type = MetricType::kUnknown;
    bool started = false;
    bool type_set = false;
    bool help_set = false;
    bool unit_set = false;
    bool has_samples = false;
    std::string unit;
    const char* begin = nullptr;  // first line, for errors about the family
  };
  // A histogram MetricPoint: consecutive samples of one metric and timestamp.
  struct Point {
    bool open = false;
    std::string group;
    bool has_timestamp = false;
    double timestamp = 0;
    bool has_bucket = false;
    double bucket = 0;
    double bucket_value = 0;
    bool has_count = false;
    double count = 0;
    bool has_sum = false;
    bool has_gsum = false;
    bool negative_bucket = false;
    bool negative_gsum = false;
  };

  bool Allows(const Family& f, std::string_view sample_name, std::string_view* suffix) const;
  void Start(std::string_view name, const char* line_begin);
  bool FinishFamily(const char* pos, SyntaxError* err);
  bool FinishPoint(const char* pos, SyntaxError* err);
  bool CheckSample(const OmSample& s, std::string_view suffix, SyntaxError* err);

  bool spec_;
  Family current_;
  // Spec rules only.
  std::unordered_set<std::string> seen_names_;  // sample names of finished families
  std::unordered_set<std::string> seen_groups_;
  bool has_group_ = false;
  std::string group_;
  bool group_has_timestamp_ = false;
  double group_timestamp_ = 0;
  std::unordered_set<std::string> group_series_;
  Point point_;
  std::string key_;  // scratch
};

}  // namespace amas::expo::internal

#endif  // AMAS_EXPO_FAMILIES_H_
