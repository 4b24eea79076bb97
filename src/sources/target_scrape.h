// target_scrape.h (internal): what one target's scrapes do to the store, without HTTP.
// ScrapeState::Ingest parses a body and appends its samples under the target's
// labels (honor_labels as Prometheus), then the synthetic up/scrape_* series, in
// one batch. A failed scrape (transport error, parse error, sample_limit) rolls
// back, writes up=0 and stale markers for every series the last scrape exposed;
// a successful one writes stale markers for series that disappeared. Series
// whose samples carry their own timestamp never get stale markers (Prometheus).
// A series exposed twice in one scrape keeps its first sample; the rest are
// counted as duplicates and the scrape still succeeds.
// Not thread-safe: one scrape loop per target. No I/O; it reads only a
// monotonic clock, to add its own time to scrape_duration_seconds.
#ifndef AMAS_SOURCES_TARGET_SCRAPE_H_
#define AMAS_SOURCES_TARGET_SCRAPE_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "core/core.h"
#include "expo/expo.h"
#include "sources/series_cache.h"
#include "store/store.h"

namespace amas::sources {

struct ScrapeOptions {
  core::Labels target_labels;  // job, instance, static labels
  bool honor_labels = false;
  bool honor_timestamps = true;
  int64_t sample_limit = 0;  // 0: no limit
  bool normalize_bucket_labels = false;
};

// One scrape as it reached the loop: either a transport error or a body.
struct ScrapeInput {
  core::Status transport;  // non-OK: no body (refused, timeout, HTTP 500, bad Content-Type...)
  std::string_view body;
  expo::Format format = expo::Format::kPrometheusText;
  int64_t t_ms = 0;         // the scrape's start: default sample time and stale-marker time
  core::Duration duration;  // time spent fetching; Ingest adds its own time to it
};

struct ScrapeReport {
  core::Status status;       // OK, or why the scrape failed (also in last_error)
  size_t scraped = 0;        // sample lines in the body (scrape_samples_scraped)
  size_t post_relabel = 0;   // samples kept (scrape_samples_post_metric_relabeling)
  size_t series_added = 0;   // series new to the cache (scrape_series_added)
  size_t duplicates = 0;     // same series again in one scrape without a timestamp: dropped
  size_t out_of_order = 0;   // the store refused an old or repeated timestamp
  size_t stale_markers = 0;  // stale markers written
  core::Duration duration;   // fetch + parse + append (scrape_duration_seconds)
};

class ScrapeState {
 public:
  explicit ScrapeState(ScrapeOptions options) : options_(std::move(options)) {}
  ScrapeState(const ScrapeState&) = delete;  // owns the cache; move the unique_ptr holding it
  ScrapeState& operator=(const ScrapeState&) = delete;

  // Appends one scrape (data, staleness, synthetic series) and commits.
  ScrapeReport Ingest(store::Store* store, const ScrapeInput& input);
  // The target is going away: stale markers at t_ms for every series the last
  // successful scrape exposed, synthetic series included. Clears the cache.
  void MarkGone(store::Store* store, int64_t t_ms);
  // Config reload. When the labels a scrape produces change (target labels,
  // honor_labels, honor_timestamps), the series the last scrape exposed end
  // at t_ms and the cache starts afresh; other options apply from the next scrape.
  void SetOptions(ScrapeOptions options, store::Store* store, int64_t t_ms);

  size_t cached_series() const { return cache_.size(); }

 private:
  enum Synthetic { kUp, kDuration, kScraped, kPostRelabel, kSeriesAdded, kNumSynthetic };

  // Parses and appends the body; non-OK means the batch must be rolled back.
  core::Status AppendBody(store::Appender* app, const ScrapeInput& input, ScrapeReport* report);
  // A line whose bytes are new, waiting for its series (AddNewSeries).
  struct NewLine {
    uint32_t id;  // its cache entry, not bound to a ref yet
    int64_t t;
    double value;
    bool explicit_t;
  };
  static constexpr size_t kNewSeriesBatch = 512;

  // Resolves the new lines' series in one store batch, binds their cache
  // entries and appends their samples, in line order.
  void AddNewSeries(store::Appender* app, ScrapeReport* report);
  // Duplicate and sample_limit bookkeeping of one sample of the series owned
  // by owner_id: true iff it is to be appended.
  bool Admit(uint32_t owner_id, bool explicit_t, ScrapeReport* report);
  // The labels of the parser's series, target labels merged in.
  core::Status ResolveLabels(expo::Parser* parser, core::Labels* labels);
  // Resolves a cache miss (or a ref the store dropped): labels → ref.
  core::Status Resolve(expo::Parser* parser, store::Appender* app, store::SeriesRef* ref);
  void AppendStaleMarkers(store::Appender* app, int64_t t_ms, ScrapeReport* report);
  void AppendStaleMarkersAndEvict(store::Appender* app, int64_t t_ms, ScrapeReport* report);
  void UndoSeen();
  void AppendSynthetic(store::Appender* app, int64_t t_ms, const ScrapeReport& report, bool up);
  void AppendSyntheticOne(store::Appender* app, Synthetic which, int64_t t_ms, double value);

  ScrapeOptions options_;
  SeriesCache cache_;
  uint64_t scrape_number_ = 0;  // the scrape in progress; 0: none yet
  std::array<store::SeriesRef, kNumSynthetic> synthetic_refs_{};
  uint32_t first_entry_ = kNoEntry;  // the entry the last scrape started with
  core::LabelsBuilder builder_;
  std::vector<core::Label> views_;  // the current line's labels, target labels after
  core::LabelsEncoder encoder_;     // lines repeat the names of the one before
  std::vector<NewLine> new_lines_;
  std::vector<core::Labels> new_labels_;  // of new_lines_, moved into the store
  std::vector<store::SeriesRef> new_refs_;
  size_t limit_ = SIZE_MAX;  // sample_limit of the scrape in progress
  bool over_limit_ = false;
  std::vector<std::pair<std::string, std::string>> conflicts_;
};

// Prometheus's label merge: target labels win unless honor_labels; with
// honor_labels false a clashing scraped label moves to exported_<name>
// (exported_exported_<name> if that is taken too). Exposed for tests.
void MergeTargetLabels(const core::Labels& target, bool honor_labels, core::LabelsBuilder* b,
                       std::vector<std::pair<std::string, std::string>>* scratch);

}  // namespace amas::sources

#endif  // AMAS_SOURCES_TARGET_SCRAPE_H_
