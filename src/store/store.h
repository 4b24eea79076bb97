// store.h: in-memory series store. Depends on core only.
// Append() keeps each series time-ordered, bounded by the retention (the longest
// window in use plus the 5m lookback); an out-of-order or duplicate timestamp
// is counted and dropped, never stored. A stale marker (core::StaleNaN) ends a
// series for instant reads; range reads skip it. Series that ended and stay
// unused past the retention are dropped by Collect(), so memory follows the
// live set. Thread rule: any number of Views and Appenders may be used from
// different threads; a View stays on its thread, which must not append or
// Collect() while holding it. No I/O, no clock: every time is an argument.
#ifndef AMAS_STORE_STORE_H_
#define AMAS_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::store::internal {
class Pattern;  // pattern.h
}

namespace amas::store {

struct Sample {
  int64_t t_ms;
  double value;
};

// Names a series for as long as it lives. A ref to a dropped series is
// detected (its generation no longer matches), never silently reused.
struct SeriesRef {
  uint32_t slot = UINT32_MAX;
  uint32_t generation = 0;
  bool valid() const { return slot != UINT32_MAX; }
  friend bool operator==(const SeriesRef&, const SeriesRef&) = default;
};

// A label matcher with Prometheus semantics: regexes are fully anchored RE2;
// a matcher that matches "" also matches series that lack the label.
class Matcher {
 public:
  enum class Type { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

  // Fails with InvalidArgument naming the regex when it does not compile.
  static core::Result<Matcher> Make(Type type, std::string name, std::string value);

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  bool Matches(std::string_view label_value) const;
  // True iff it matches "", hence also series that lack the label.
  bool matches_empty() const { return matches_empty_; }
  // "name=\"value\"", "name=~\"re\"", ... as PromQL prints it.
  std::string ToString() const;

 private:
  friend class View;  // Select() plans on the compiled pattern
  Matcher() = default;
  Type type_ = Type::kEqual;
  bool matches_empty_ = false;
  std::string name_;
  std::string value_;
  std::shared_ptr<const internal::Pattern> pattern_;  // shared: Matchers are copied into ASTs
};

struct StoreOptions {
  // Samples older than (newest sample of the series - retention) may be
  // dropped; 0 keeps everything (the promqltest runner needs that).
  core::Duration retention = core::Duration::Minutes(15);
};

struct AppendStats {
  size_t appended = 0;
  size_t out_of_order = 0;  // older than the series' newest sample: dropped
  size_t duplicate = 0;     // same timestamp as the newest sample: dropped
  size_t stale_series = 0;  // dropped because the ref was collected meanwhile
};

struct StoreStats {
  size_t series = 0;
  size_t samples = 0;
  size_t bytes = 0;  // labels, samples, index and tables, best effort
};

class Store;

// A batch of writes that becomes visible at once on Commit(); Rollback() (or
// destruction without Commit) discards the samples, not the series created.
// Must not outlive its Store. Append() takes no lock (a few ns); Commit()
// holds the exclusive lock for the batch (~50 ns a sample); several
// Appenders may work at once and their Commits take turns.
class Appender {
 public:
  Appender(Appender&&) noexcept;
  Appender& operator=(Appender&&) noexcept;
  Appender(const Appender&) = delete;  // a batch has one owner; move it instead
  Appender& operator=(const Appender&) = delete;
  ~Appender();

  // The series for labels, created if new (visible to Selects at once, with
  // no samples yet). Empty labels give an invalid ref. The && form keeps the
  // caller's bytes instead of copying them (labels is left unspecified).
  SeriesRef GetOrCreate(const core::Labels& labels);
  SeriesRef GetOrCreate(core::Labels&& labels);
  // refs[i] = GetOrCreate(std::move(labels[i])) for every i (equal sets get
  // one series), under one exclusive lock: for a scrape full of new series.
  // refs.size() must equal labels.size().
  void GetOrCreateAll(std::span<core::Labels> labels, std::span<SeriesRef> refs);
  // Room for about n more series, so creating them does not regrow the
  // store's tables several times (a first scrape knows its line count).
  void ReserveSeries(size_t n);
  // Buffers one sample. Returns false iff ref was never valid or has been
  // collected; the caller resolves the labels again.
  bool Append(SeriesRef ref, int64_t t_ms, double value);
  AppendStats Commit();
  void Rollback();

 private:
  friend class Store;
  explicit Appender(Store* store);
  struct Pending;
  Store* store_;
  std::unique_ptr<Pending> pending_;
};

// A consistent read view: holds a shared lock for its lifetime, so keep it
// short (one rule evaluation round) and never append while holding one.
// Writers wait for open Views; Views opened after a writer waits queue
// behind it (nested Views on one thread do not), so readers never starve it.
class View {
 public:
  View(View&&) noexcept;
  View(const View&) = delete;  // it owns a lock
  ~View();

  // Series matching all matchers, in ascending order of Labels. At least one
  // matcher must not match "" (as in Prometheus), else InvalidArgument.
  // Cost: the first Select after new series merges them into label order
  // (O(series) plus O(new log series) label comparisons); later ones do not.
  core::Result<std::vector<SeriesRef>> Select(std::span<const Matcher> matchers) const;
  // Valid for the life of the View; empty for a ref that is not live.
  const core::Labels& labels(SeriesRef ref) const;
  // Clears *out and fills it with the samples in (mint_ms, maxt_ms], oldest
  // first, stale markers included (callers decide what they mean); nothing
  // for a ref that is not live.
  void Samples(SeriesRef ref, int64_t mint_ms, int64_t maxt_ms, std::vector<Sample>* out) const;
  // All label names / values of one name present in the store, sorted.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(std::string_view name) const;

 private:
  friend class Store;
  explicit View(const Store* store);
  const Store* store_;
  std::shared_lock<std::shared_mutex> lock_;
};

class Store {
 public:
  explicit Store(StoreOptions options = {});
  Store(const Store&) = delete;  // Views and Appenders point into it
  Store& operator=(const Store&) = delete;
  ~Store();

  Appender NewAppender();
  View NewView() const;
  // Config reload: applies to samples appended and collected from now on.
  void SetRetention(core::Duration retention);
  // Drops samples older than (now - retention) and series left with no sample
  // in that window (a stale marker is a sample: the series goes once it, too,
  // is older). A series created without samples is spared once: its first
  // batch may be on the way. Retention 0 drops nothing. Returns the number of
  // series dropped. O(series), under the exclusive lock.
  size_t Collect(int64_t now_ms);
  StoreStats Stats() const;  // O(series)

 private:
  friend class Appender;
  friend class View;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::shared_mutex mu_;
};

}  // namespace amas::store

#endif  // AMAS_STORE_STORE_H_
