#include "sources/target_scrape.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

namespace amas::sources {
namespace {

constexpr std::string_view kSyntheticNames[] = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
};

constexpr std::string_view kExportedPrefix = "exported_";

}  // namespace

void MergeTargetLabels(const core::Labels& target, bool honor_labels, core::LabelsBuilder* b,
                       std::vector<std::pair<std::string, std::string>>* scratch) {
  if (honor_labels) {
    for (core::Label l : target) {
      if (b->Get(l.name).empty()) b->Set(l.name, l.value);
    }
    return;
  }
  scratch->clear();
  for (core::Label l : target) {
    const std::string_view existing = b->Get(l.name);
    if (!existing.empty()) scratch->emplace_back(std::string(l.name), std::string(existing));
    b->Set(l.name, l.value);
  }
  if (scratch->empty()) return;
  // Shorter names first, so "job" claims exported_job before "exported_job"
  // (if a target had such a label) is pushed to exported_exported_job.
  std::stable_sort(scratch->begin(), scratch->end(),
                   [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
  for (const auto& [name, value] : *scratch) {
    std::string renamed = name;
    while (true) {
      renamed.insert(0, kExportedPrefix);
      if (b->Get(renamed).empty()) {
        b->Set(renamed, value);
        break;
      }
    }
  }
}

void ScrapeState::SetOptions(ScrapeOptions options, store::Store* store, int64_t t_ms) {
  const bool new_target_labels = !(options.target_labels == options_.target_labels);
  if (new_target_labels || options.honor_labels != options_.honor_labels ||
      options.honor_timestamps != options_.honor_timestamps) {
    store::Appender app = store->NewAppender();
    const uint64_t now = scrape_number_;
    for (uint32_t id = 0; id < cache_.id_limit(); ++id) {
      const CacheEntry& e = cache_.at(id);
      if (!e.live || e.owner != id || !e.track_staleness || e.series_seen != now) continue;
      app.Append(e.ref, t_ms, core::StaleNaN());
    }
    if (new_target_labels && now > 0) {
      for (store::SeriesRef ref : synthetic_refs_) {
        if (ref.valid()) app.Append(ref, t_ms, core::StaleNaN());
      }
      synthetic_refs_ = {};
    }
    app.Commit();
    cache_.Clear();
    first_entry_ = kNoEntry;
  }
  options_ = std::move(options);
}

ScrapeReport ScrapeState::Ingest(store::Store* store, const ScrapeInput& input) {
  const auto started = std::chrono::steady_clock::now();
  ScrapeReport report;
  ++scrape_number_;

  std::optional<store::Appender> app(store->NewAppender());
  core::Status status = input.transport;
  if (status.ok()) status = AppendBody(&*app, input, &report);
  if (status.ok()) {
    AppendStaleMarkersAndEvict(&*app, input.t_ms, &report);
    cache_.MaybeCompact();
  } else {
    // Nothing of a failed scrape is kept; every series it had are now stale.
    app->Rollback();
    app.reset();
    app.emplace(store->NewAppender());
    UndoSeen();
    AppendStaleMarkers(&*app, input.t_ms, &report);
  }
  report.status = status;
  report.duration =
      input.duration + core::Duration::Millis(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - started)
                                                  .count());
  AppendSynthetic(&*app, input.t_ms, report, status.ok());
  const store::AppendStats stats = app->Commit();
  report.out_of_order += stats.out_of_order;
  report.duplicates += stats.duplicate;
  return report;
}

core::Status ScrapeState::AppendBody(store::Appender* app, const ScrapeInput& input,
                                     ScrapeReport* report) {
  expo::Parser parser(input.body, input.format);
  const uint64_t now = scrape_number_;
  // A first scrape creates an entry per line: size the cache once. Keys take
  // at most the body; untouched reserved pages cost no memory.
  if (cache_.size() == 0) cache_.Reserve(input.body.size() / 192, input.body.size());
  const size_t limit =
      options_.sample_limit > 0 ? static_cast<size_t>(options_.sample_limit) : SIZE_MAX;
  bool over_limit = false;
  uint32_t prev = kNoEntry;
  uint32_t hint = first_entry_;
  while (true) {
    const expo::Entry entry = parser.Next();
    if (entry != expo::Entry::kSeries) {
      if (entry == expo::Entry::kEof) break;
      if (entry == expo::Entry::kError) {
        return core::Status::InvalidArgument("parse error at " + parser.error().message());
      }
      continue;
    }
    ++report->scraped;
    const std::string_view key = parser.series();
    std::optional<int64_t> explicit_t;
    if (options_.honor_timestamps) explicit_t = parser.timestamp_ms();
    const int64_t t = explicit_t ? *explicit_t : input.t_ms;

    uint64_t hash;
    uint32_t id = cache_.Find(key, hint, &hash);
    if (id == kNoEntry) {
      store::SeriesRef ref;
      core::Status st = Resolve(&parser, app, &ref);
      if (!st.ok()) return st;
      id = cache_.Insert(key, hash, ref);
      CacheEntry& created = cache_.at(id);
      if (created.owner == id) {
        created.track_staleness = !explicit_t.has_value();
        ++report->series_added;
      }
    }
    if (prev == kNoEntry) {
      first_entry_ = id;
    } else {
      cache_.at(prev).next = id;
    }
    prev = id;
    CacheEntry& e = cache_.at(id);
    hint = e.next;
    e.key_seen = now;
    CacheEntry& owner = cache_.at(e.owner);
    if (owner.series_seen == now) {
      // Prometheus keeps the first sample of a series exposed twice; with an
      // explicit timestamp a later one is a newer point and the store judges it.
      if (!explicit_t) {
        ++report->duplicates;
        continue;
      }
    } else {
      owner.prev_series_seen = owner.series_seen;
      owner.series_seen = now;
    }
    if (report->post_relabel >= limit) {
      over_limit = true;  // keep parsing: a parse error still wins, and scraped counts all
      continue;
    }
    ++report->post_relabel;
    const double value = parser.value();
    if (!app->Append(owner.ref, t, value)) {
      // The store collected the series since we cached it: resolve it again.
      store::SeriesRef ref;
      core::Status st = Resolve(&parser, app, &ref);
      if (!st.ok()) return st;
      cache_.Rebind(id, ref);
      app->Append(ref, t, value);
    }
  }
  if (prev != kNoEntry) cache_.at(prev).next = kNoEntry;
  if (over_limit) {
    return core::Status::ResourceExhausted("sample limit exceeded: more than " +
                                           std::to_string(options_.sample_limit) + " samples");
  }
  return core::Status::Ok();
}

core::Status ScrapeState::Resolve(expo::Parser* parser, store::Appender* app,
                                  store::SeriesRef* ref) {
  builder_.Reset();
  core::Status st = parser->Labels(&builder_);
  if (!st.ok()) return core::Status::InvalidArgument("parse error at " + st.message());
  MergeTargetLabels(options_.target_labels, options_.honor_labels, &builder_, &conflicts_);
  *ref = app->GetOrCreate(builder_.Build());
  return core::Status::Ok();
}

void ScrapeState::UndoSeen() {
  const uint64_t now = scrape_number_;
  for (uint32_t id = 0; id < cache_.id_limit(); ++id) {
    CacheEntry& e = cache_.at(id);
    if (!e.live || e.owner != id || e.series_seen != now) continue;
    e.series_seen = e.prev_series_seen;
  }
  first_entry_ = kNoEntry;
}

// The series the previous scrape exposed and this one did not: after a
// success the ones that disappeared, after a failure (UndoSeen) all of them.
void ScrapeState::AppendStaleMarkers(store::Appender* app, int64_t t_ms, ScrapeReport* report) {
  if (scrape_number_ < 2) return;
  const uint64_t previous = scrape_number_ - 1;
  for (uint32_t id = 0; id < cache_.id_limit(); ++id) {
    const CacheEntry& e = cache_.at(id);
    if (!e.live || e.owner != id || !e.track_staleness || e.series_seen != previous) continue;
    // A ref the store has collected needs no marker: the series is gone already.
    if (app->Append(e.ref, t_ms, core::StaleNaN())) ++report->stale_markers;
  }
}

// After a success, in one pass: stale markers for what disappeared, and the
// cache forgets bytes and series this scrape did not expose.
void ScrapeState::AppendStaleMarkersAndEvict(store::Appender* app, int64_t t_ms,
                                             ScrapeReport* report) {
  const uint64_t now = scrape_number_;
  const uint64_t previous = now - 1;
  for (uint32_t id = 0; id < cache_.id_limit(); ++id) {
    const CacheEntry& e = cache_.at(id);
    if (!e.live || e.key_seen == now) continue;
    if (e.owner == id) {
      if (e.series_seen == now) continue;  // exposed under other bytes (an alias)
      if (e.track_staleness && e.series_seen == previous && previous > 0 &&
          app->Append(e.ref, t_ms, core::StaleNaN())) {
        ++report->stale_markers;
      }
    }
    cache_.Erase(id);
  }
}

void ScrapeState::MarkGone(store::Store* store, int64_t t_ms) {
  store::Appender app = store->NewAppender();
  const uint64_t now = scrape_number_;
  for (uint32_t id = 0; id < cache_.id_limit(); ++id) {
    const CacheEntry& e = cache_.at(id);
    if (!e.live || e.owner != id || !e.track_staleness || e.series_seen != now) continue;
    app.Append(e.ref, t_ms, core::StaleNaN());
  }
  if (now > 0) {
    for (store::SeriesRef ref : synthetic_refs_) {
      if (ref.valid()) app.Append(ref, t_ms, core::StaleNaN());
    }
  }
  app.Commit();
  cache_.Clear();
  first_entry_ = kNoEntry;
  synthetic_refs_ = {};
}

void ScrapeState::AppendSynthetic(store::Appender* app, int64_t t_ms, const ScrapeReport& report,
                                  bool up) {
  AppendSyntheticOne(app, kUp, t_ms, up ? 1 : 0);
  AppendSyntheticOne(app, kDuration, t_ms, report.duration.seconds());
  AppendSyntheticOne(app, kScraped, t_ms, static_cast<double>(report.scraped));
  AppendSyntheticOne(app, kPostRelabel, t_ms, static_cast<double>(report.post_relabel));
  AppendSyntheticOne(app, kSeriesAdded, t_ms, static_cast<double>(report.series_added));
}

void ScrapeState::AppendSyntheticOne(store::Appender* app, Synthetic which, int64_t t_ms,
                                     double value) {
  store::SeriesRef& ref = synthetic_refs_[which];
  if (ref.valid() && app->Append(ref, t_ms, value)) return;
  // Like Prometheus's report mutator: target labels win over the name-only set.
  builder_.Reset();
  builder_.Set(core::kMetricName, kSyntheticNames[which]);
  MergeTargetLabels(options_.target_labels, /*honor_labels=*/false, &builder_, &conflicts_);
  ref = app->GetOrCreate(builder_.Build());
  app->Append(ref, t_ms, value);
}

}  // namespace amas::sources
