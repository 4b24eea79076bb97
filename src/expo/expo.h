// expo.h: Prometheus text 0.0.4 and OpenMetrics 1.0 parsing. Depends on core.
// Parser is a pull parser over a body the caller keeps alive: it copies
// nothing it does not return. Views it returns are valid until the next
// Next() call. series() is the raw bytes naming a sample's series, so a
// scraper can recognise a series it has seen by bytes alone and skip
// Labels(); Labels() decodes and validates the label block on demand. A
// caller that skips Labels() must have validated the same bytes before.
// Errors are Status values whose message starts "line:col: ". No I/O.
#ifndef AMAS_EXPO_EXPO_H_
#define AMAS_EXPO_EXPO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::expo {

enum class Format { kPrometheusText, kOpenMetrics };

// What a scraper sends as Accept: OpenMetrics preferred, text 0.0.4 accepted.
inline constexpr std::string_view kAcceptHeader =
    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// "text/plain; version=0.0.4" (or no version) → text;
// "application/openmetrics-text; version=1.0.0" (or no version) → OpenMetrics;
// anything else, including "", is InvalidArgument naming the value.
core::Result<Format> FormatFromContentType(std::string_view content_type);

enum class Entry { kSeries, kHelp, kType, kUnit, kComment, kEof, kError };

enum class MetricType {
  kUnknown,  // "untyped" in text 0.0.4, "unknown" in OpenMetrics, or no TYPE line
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateset,
};

// How strictly a body is judged. The defaults are what a scraper wants:
// UTF-8 names allowed (quoted, as in Prometheus 3), OpenMetrics judged like
// Prometheus's own parser (syntax, # EOF, metadata, timestamps). kLegacy is
// Prometheus's legacy metric_name_validation_scheme. openmetrics_spec adds the
// OpenMetrics 1.0 suite's family rules (grouping, name clashes, histogram and
// summary structure, counter values, exemplar placement); Check() uses it.
enum class NameValidation { kUtf8, kLegacy };
// normalize_bucket_labels renders le/quantile values of histogram/summary
// families as Prometheus 3 does ("1" -> "1.0"); off keeps them as written,
// as Prometheus 2.x does, so rules written for it (le="1") keep matching.
struct ParseOptions {
  NameValidation names = NameValidation::kUtf8;
  bool openmetrics_spec = false;
  bool normalize_bucket_labels = false;
};

// What Check() counts.
struct CheckResult {
  size_t families = 0;  // distinct metric family names that have samples
  size_t series = 0;    // sample lines
};

class Parser {
 public:
  Parser(std::string_view body, Format format, ParseOptions options = {});
  Parser(const Parser&) = delete;  // holds positions into the body; make another
  Parser& operator=(const Parser&) = delete;
  ~Parser();

  // Moves to the next entry. After kError, error() says why and where, and
  // every later call returns kError again. kEof only after a valid end.
  Entry Next();
  const core::Status& error() const;

  // kSeries: raw bytes from the start of the line through the label block
  // ("name{a=\"b\"}" or "name"), stable across scrapes of the same series.
  std::string_view series() const;
  // kSeries: sets __name__ and every label into *out (Reset first).
  // With normalize_bucket_labels, le/quantile values of histogram/summary
  // families are rendered canonically ("1" → "1.0"), so they depend on the
  // family's TYPE line as well as on series(). Fails with line:col.
  core::Status Labels(core::LabelsBuilder* out);
  // kSeries: the same labels as views appended to *out (not cleared):
  // __name__ first, then the block's in line order; an empty value stands
  // for an absent label. Valid until the next Next(). Copies nothing, so a
  // scraper can build core::Labels::FromLabels without a builder.
  core::Status LabelViews(std::vector<core::Label>* out);
  // kSeries: the value (NaNs canonical, never the stale marker) and the
  // timestamp in ms, if the line had one (OpenMetrics seconds converted).
  double value() const;
  std::optional<int64_t> timestamp_ms() const;

  // kHelp / kType / kUnit: the family name, and the help text (unescaped),
  // type or unit. Valid until the next Next().
  std::string_view metric_name() const;
  std::string_view help() const;
  MetricType type() const;
  std::string_view unit() const;

  // 1-based position of the current entry, for error messages of callers.
  int line() const;

 private:
  friend core::Result<CheckResult> Check(std::string_view, Format, ParseOptions);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a whole body: every series' labels, values and metadata, like
// `promtool check metrics`. Used by `amas-scaler check metrics`.
core::Result<CheckResult> Check(std::string_view body, Format format,
                                ParseOptions options = {.openmetrics_spec = true});

}  // namespace amas::expo

#endif  // AMAS_EXPO_EXPO_H_
