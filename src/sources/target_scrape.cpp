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
      options.honor_timestamps != options_.honor_timestamps ||
      options.normalize_bucket_labels != options_.normalize_bucket_labels) {
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
  // Into an empty cache every entry is this scrape's: none can be stale.
  const bool had_entries = cache_.size() > 0;
  core::Status status = input.transport;
  if (status.ok()) status = AppendBody(&*app, input, &report);
  if (status.ok()) {
    if (had_entries) AppendStaleMarkersAndEvict(&*app, input.t_ms, &report);
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
  expo::ParseOptions parse_options;
  parse_options.normalize_bucket_labels = options_.normalize_bucket_labels;
  expo::Parser parser(input.body, input.format, parse_options);
  const uint64_t now = scrape_number_;
  // A first scrape creates an entry and a series per line: size the cache
  // and the store's tables once.
  if (cache_.size() == 0) {
    const size_t expected_lines = input.body.size() / 160;
    cache_.Reserve(expected_lines);
    app->ReserveSeries(expected_lines);
  }
  limit_ = options_.sample_limit > 0 ? static_cast<size_t>(options_.sample_limit) : SIZE_MAX;
  over_limit_ = false;
  const bool first_scrape = cache_.size() == 0;
  uint32_t prev = kNoEntry;
  uint32_t hint = first_entry_;
  // Called for every line in order, once its entry exists.
  auto link = [&](uint32_t id) {
    if (prev == kNoEntry) {
      first_entry_ = id;
    } else {
      cache_.at(prev).next = id;
    }
    prev = id;
    CacheEntry& e = cache_.at(id);
    hint = e.next;
    e.key_seen = now;
  };
  while (true) {
    const expo::Entry entry = parser.Next();
    if (entry != expo::Entry::kSeries) {
      if (entry == expo::Entry::kEof) break;
      if (entry == expo::Entry::kError) {
        AddNewSeries(app, report);  // no entry may stay without a ref
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
    uint32_t id;
    core::Labels labels;
    core::Status labels_status;
    if (first_scrape) {
      // Every line is new but for duplicates: decode the labels while the
      // cache's hash table slot (a likely cache miss) is on its way.
      hash = core::Hash64(key);
      cache_.Prefetch(hash);
      labels_status = ResolveLabels(&parser, &labels);
      id = cache_.FindByHash(hash, key);
    } else {
      id = cache_.Find(key, hint, &hash);
      if (id == kNoEntry) labels_status = ResolveLabels(&parser, &labels);
    }
    if (id == kNoEntry) {
      // New bytes: the store series comes with the next batch.
      if (!labels_status.ok()) {
        AddNewSeries(app, report);
        return labels_status;
      }
      const uint32_t created = cache_.InsertKey(key, hash);
      link(created);
      new_lines_.push_back({created, t, parser.value(), explicit_t.has_value()});
      new_labels_.push_back(std::move(labels));
      if (new_lines_.size() == kNewSeriesBatch) AddNewSeries(app, report);
      continue;
    }
    // Samples stay in line order: the new series before this line go first
    // (this line may even be one of them again).
    AddNewSeries(app, report);
    link(id);
    const uint32_t owner = cache_.at(id).owner;
    if (!Admit(owner, explicit_t.has_value(), report)) continue;
    const double value = parser.value();
    if (!app->Append(cache_.at(owner).ref, t, value)) {
      // The store collected the series since we cached it: resolve it again.
      store::SeriesRef ref;
      core::Status st = Resolve(&parser, app, &ref);
      if (!st.ok()) return st;
      cache_.Rebind(id, ref);
      app->Append(ref, t, value);
    }
  }
  AddNewSeries(app, report);
  if (prev != kNoEntry) cache_.at(prev).next = kNoEntry;
  if (over_limit_) {
    return core::Status::ResourceExhausted("sample limit exceeded: more than " +
                                           std::to_string(options_.sample_limit) + " samples");
  }
  return core::Status::Ok();
}

bool ScrapeState::Admit(uint32_t owner_id, bool explicit_t, ScrapeReport* report) {
  CacheEntry& owner = cache_.at(owner_id);
  if (owner.series_seen == scrape_number_) {
    // Prometheus keeps the first sample of a series exposed twice; with an
    // explicit timestamp a later one is a newer point and the store judges it.
    if (!explicit_t) {
      ++report->duplicates;
      return false;
    }
  } else {
    owner.prev_series_seen = owner.series_seen;
    owner.series_seen = scrape_number_;
  }
  if (report->post_relabel >= limit_) {
    over_limit_ = true;  // keep parsing: a parse error still wins, and scraped counts all
    return false;
  }
  ++report->post_relabel;
  return true;
}

void ScrapeState::AddNewSeries(store::Appender* app, ScrapeReport* report) {
  if (new_lines_.empty()) return;
  new_refs_.resize(new_lines_.size());
  app->GetOrCreateAll(new_labels_, new_refs_);
  for (size_t i = 0; i < new_lines_.size(); ++i) {
    const NewLine& line = new_lines_[i];
    cache_.Bind(line.id, new_refs_[i]);
    CacheEntry& e = cache_.at(line.id);
    if (e.owner == line.id) {
      e.track_staleness = !line.explicit_t;
      ++report->series_added;
    }
    if (!Admit(e.owner, line.explicit_t, report)) continue;
    // The ref is microseconds old: only two Collects in between (the first
    // spares a new series) could have dropped it, and then this sample goes
    // like those of any series dropped during a scrape.
    app->Append(new_refs_[i], line.t, line.value);
  }
  new_lines_.clear();
  new_labels_.clear();
}

namespace {

// The usual merge without a builder: target labels are added to the scraped
// views unless one is already there with a value. False when a clash needs
// MergeTargetLabels's renaming (honor_labels false and a scraped label of a
// target label's name).
bool MergeTargetLabelViews(const core::Labels& target, bool honor_labels,
                           std::vector<core::Label>* views) {
  const size_t scraped = views->size();
  for (core::Label t : target) {
    bool present = false;
    for (size_t i = 0; i < scraped; ++i) {
      const core::Label& l = (*views)[i];
      // Sizes and first bytes rule out nearly every name without a memcmp call.
      if (l.name.size() == t.name.size() && (l.name.empty() || l.name[0] == t.name[0]) &&
          l.name == t.name && !l.value.empty()) {
        present = true;
        break;
      }
    }
    if (present && !honor_labels) return false;
    if (!present) views->push_back(t);  // a later label wins over an empty one
  }
  return true;
}

}  // namespace

core::Status ScrapeState::ResolveLabels(expo::Parser* parser, core::Labels* labels) {
  views_.clear();
  core::Status st = parser->LabelViews(&views_);
  if (!st.ok()) return core::Status::InvalidArgument("parse error at " + st.message());
  const size_t scraped = views_.size();
  if (MergeTargetLabelViews(options_.target_labels, options_.honor_labels, &views_)) {
    *labels = encoder_.FromLabels(views_);
    return core::Status::Ok();
  }
  builder_.Reset();
  for (size_t i = 0; i < scraped; ++i) builder_.Set(views_[i].name, views_[i].value);
  MergeTargetLabels(options_.target_labels, options_.honor_labels, &builder_, &conflicts_);
  *labels = builder_.Build();
  return core::Status::Ok();
}

core::Status ScrapeState::Resolve(expo::Parser* parser, store::Appender* app,
                                  store::SeriesRef* ref) {
  core::Labels labels;
  core::Status st = ResolveLabels(parser, &labels);
  if (!st.ok()) return st;
  *ref = app->GetOrCreate(std::move(labels));
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
