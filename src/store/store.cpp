#include "store/store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "store/pattern.h"
#include "store/postings.h"
#include "store/samples.h"
#include "store/series_map.h"

namespace amas::store {
namespace {

// Series live in fixed segments that never move, so a slot's address and its
// state word stay put while the store grows (no copy of 200k series, no 2x
// vector slack, and Append can read a state word without the lock).
constexpr unsigned kSegmentBits = 12;
constexpr uint32_t kSegmentSize = 1u << kSegmentBits;
constexpr uint32_t kSegmentMask = kSegmentSize - 1;
constexpr uint32_t kMaxSegments = 1u << 14;  // 67M series

// A slot's state word: generation << 2 | kFresh | kLive. The generation goes
// up when the series is dropped, so refs to it fail from then on; kFresh
// spares a series without samples yet from the next Collect().
constexpr uint32_t kLive = 1;
constexpr uint32_t kFresh = 2;
constexpr unsigned kGenerationShift = 2;
constexpr uint32_t kGenerationMask = (1u << 30) - 1;

constexpr uint32_t kNoSlot = internal::SeriesMap::kNone;

struct Series {
  core::Labels labels;
  internal::SampleBuffer samples;
};

struct Segment {
  std::array<std::atomic<uint32_t>, kSegmentSize> state{};
  std::array<Series, kSegmentSize> series;
};

// A writer's exclusive hold of the store, ahead of Views not yet started.
class WriteLock {
 public:
  WriteLock(std::mutex* gate, std::shared_mutex* mu) : gate_(*gate), lock_(*mu) {}

 private:
  std::lock_guard<std::mutex> gate_;
  std::unique_lock<std::shared_mutex> lock_;
};

struct PendingSample {
  uint32_t slot;
  uint32_t generation;
  int64_t t_ms;
  double value;
};

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return std::numeric_limits<int64_t>::min();
  return r;
}

// Heap bytes of a label set's buffer, with a typical malloc header.
size_t LabelsHeapBytes(const core::Labels& labels) {
  const size_t capacity = labels.ByteSize() - sizeof(core::Labels);
  return capacity > 15 ? capacity + 1 + 16 : 0;
}

// Views this thread holds, of any store: a nested View must not queue
// behind a waiting writer (see Store::Impl::gate).
thread_local int t_views_held = 0;

// One matcher of a Select() with its compiled pattern (nullptr for = and !=).
struct Term {
  const Matcher* matcher;
  const internal::Pattern* pattern;
};

}  // namespace

struct Store::Impl {
  // std::shared_mutex (glibc) prefers readers: overlapping Views could keep
  // Commit waiting forever. Writers take the gate and then the lock; a
  // thread's first View passes through the gate before its shared lock, so
  // once a writer waits, new Views wait behind it. Nested Views skip the gate.
  std::mutex gate;

  int64_t retention_ms = 0;
  std::array<std::atomic<Segment*>, kMaxSegments> directory{};
  std::vector<std::unique_ptr<Segment>> segments;  // owners of directory's entries
  uint32_t slots = 0;                              // ever handed out
  std::vector<uint32_t> free_slots;
  size_t live = 0;
  size_t samples = 0;
  internal::SeriesMap map;
  internal::PostingsIndex index;

  // Select() returns series in label order, and comparing Labels costs cache
  // misses, so each series has a rank: its position in label order. Writers
  // only note new series and clear ranks_valid; the first Select() after that
  // merges them in (O(series) once) under rank_mu, and everyone else reads
  // rank only after seeing ranks_valid set (acquire), so no reader ever sees
  // a half-built rank while writers are kept out by the shared lock.
  static constexpr uint32_t kNoRank = UINT32_MAX;
  mutable std::mutex rank_mu;
  mutable std::atomic<bool> ranks_valid{true};
  mutable std::vector<uint32_t> order;     // slots by labels; dropped ones until the next merge
  mutable std::vector<uint32_t> rank;      // by slot: index into order, or kNoRank
  mutable std::vector<uint32_t> unranked;  // slots created since the last merge

  // Lock-free: reads only atomics, so Append() may call it without the lock.
  bool IsLive(SeriesRef ref) const {
    if ((ref.slot >> kSegmentBits) >= kMaxSegments) return false;
    const Segment* seg = directory[ref.slot >> kSegmentBits].load(std::memory_order_acquire);
    if (seg == nullptr) return false;
    const uint32_t state = seg->state[ref.slot & kSegmentMask].load(std::memory_order_acquire);
    return (state & kLive) != 0 && (state >> kGenerationShift) == ref.generation;
  }
  Segment& SegmentOf(uint32_t slot) const {
    return *directory[slot >> kSegmentBits].load(std::memory_order_relaxed);
  }
  Series& At(uint32_t slot) const { return SegmentOf(slot).series[slot & kSegmentMask]; }
  std::atomic<uint32_t>& StateOf(uint32_t slot) const {
    return SegmentOf(slot).state[slot & kSegmentMask];
  }
  SeriesRef RefOf(uint32_t slot) const {
    return {slot, StateOf(slot).load(std::memory_order_relaxed) >> kGenerationShift};
  }
  internal::ChunkPolicy Policy() const {
    // Chunks of a quarter of the retention: at most ~25% more than the
    // window is held, and a chunk's fixed cost spreads over many samples.
    return {retention_ms > 0 ? std::max<int64_t>(retention_ms / 4, 1) : 0, retention_ms};
  }

  uint32_t Lookup(const core::Labels& labels) const {
    return map.Find(labels.hash(), [&](uint32_t slot) { return At(slot).labels == labels; });
  }
  // Lookup under the shared lock (through the gate, like a View's): most
  // series a writer asks for exist, and then readers need not wait for it.
  SeriesRef LookupShared(std::shared_mutex* mu, const core::Labels& labels) {
    std::unique_lock<std::mutex> gate_lock(gate);
    std::shared_lock lock(*mu);
    gate_lock.unlock();
    const uint32_t slot = Lookup(labels);
    return slot == kNoSlot ? SeriesRef{} : RefOf(slot);
  }
  // The caller holds the exclusive lock and has seen Lookup fail.
  SeriesRef Create(core::Labels labels);
  // Lookup, or Create from labels (moved from only when created).
  SeriesRef GetOrCreateLocked(core::Labels&& labels);
  void Drop(uint32_t slot, uint32_t state, std::vector<core::Labels>* dropped_labels);

  void EnsureRanks() const;
  void SortByLabels(std::vector<uint32_t>* ids) const;

  core::Result<std::vector<SeriesRef>> Select(std::span<const Term> terms) const;
  std::vector<uint32_t> Resolve(const Term& term) const;
  std::vector<uint32_t> Union(std::span<const internal::PostingsList* const> lists) const;
  void Intersect(const internal::PostingsList& list, std::vector<uint32_t>* ids) const;
  void Filter(const Term& term, std::vector<uint32_t>* ids) const;
};

SeriesRef Store::Impl::Create(core::Labels labels) {
  uint32_t slot;
  if (!free_slots.empty()) {
    slot = free_slots.back();
    free_slots.pop_back();
  } else {
    if (slots == kMaxSegments * kSegmentSize) return {};  // ~67M series: refuse, never wrap
    slot = slots++;
    if ((slot & kSegmentMask) == 0) {
      segments.push_back(std::make_unique<Segment>());
      directory[slot >> kSegmentBits].store(segments.back().get(), std::memory_order_release);
    }
  }
  Series& series = At(slot);
  series.labels = std::move(labels);
  std::atomic<uint32_t>& state = StateOf(slot);
  const uint32_t generation = state.load(std::memory_order_relaxed) >> kGenerationShift;
  state.store((generation << kGenerationShift) | kFresh | kLive, std::memory_order_release);
  map.Insert(series.labels.hash(), slot);
  index.Add(series.labels, slot);
  if (rank.size() < slots) rank.resize(slots, kNoRank);
  rank[slot] = kNoRank;
  unranked.push_back(slot);
  ranks_valid.store(false, std::memory_order_relaxed);  // readers are locked out
  ++live;
  return {slot, generation};
}

SeriesRef Store::Impl::GetOrCreateLocked(core::Labels&& labels) {
  const uint32_t slot = Lookup(labels);
  if (slot != kNoSlot) return RefOf(slot);
  return Create(std::move(labels));
}

void Store::Impl::EnsureRanks() const {
  if (ranks_valid.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> guard(rank_mu);
  if (ranks_valid.load(std::memory_order_relaxed)) return;  // another reader did it
  auto by_labels = [this](uint32_t a, uint32_t b) { return At(a).labels < At(b).labels; };
  // New series, each once and only if still there.
  std::sort(unranked.begin(), unranked.end());
  unranked.erase(std::unique(unranked.begin(), unranked.end()), unranked.end());
  std::erase_if(unranked, [this](uint32_t slot) {
    return (StateOf(slot).load(std::memory_order_relaxed) & kLive) == 0;
  });
  std::sort(unranked.begin(), unranked.end(), by_labels);
  // Dropped series left order with their rank (a reused slot is in unranked).
  std::erase_if(order, [this](uint32_t slot) { return rank[slot] == kNoRank; });
  std::vector<uint32_t> merged;
  merged.reserve(order.size() + unranked.size());
  auto from = order.begin();
  for (uint32_t slot : unranked) {
    const auto at = std::upper_bound(from, order.end(), slot, by_labels);
    merged.insert(merged.end(), from, at);
    merged.push_back(slot);
    from = at;
  }
  merged.insert(merged.end(), from, order.end());
  order = std::move(merged);
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<uint32_t>(i);
  unranked.clear();
  ranks_valid.store(true, std::memory_order_release);
}

void Store::Impl::SortByLabels(std::vector<uint32_t>* ids) const {
  EnsureRanks();
  std::vector<uint64_t> keyed;
  keyed.reserve(ids->size());
  for (uint32_t id : *ids) keyed.push_back((uint64_t{rank[id]} << 32) | id);
  std::sort(keyed.begin(), keyed.end());
  for (size_t i = 0; i < keyed.size(); ++i) (*ids)[i] = static_cast<uint32_t>(keyed[i]);
}

void Store::Impl::Drop(uint32_t slot, uint32_t state, std::vector<core::Labels>* dropped_labels) {
  Series& s = At(slot);
  samples -= s.samples.samples();
  s.samples.Clear();
  map.Erase(s.labels.hash(), slot);
  dropped_labels->push_back(std::move(s.labels));
  s.labels = core::Labels();
  const uint32_t next = ((state >> kGenerationShift) + 1) & kGenerationMask;
  StateOf(slot).store(next << kGenerationShift, std::memory_order_release);
  free_slots.push_back(slot);
  rank[slot] = kNoRank;  // leaves order at the next merge; other ranks stay valid
  --live;
}

// ---------------------------------------------------------------- Select

core::Result<std::vector<SeriesRef>> Store::Impl::Select(std::span<const Term> terms) const {
  // Prometheus's rule: a selector matching "" everywhere would select every
  // series there is.
  if (std::all_of(terms.begin(), terms.end(),
                  [](const Term& t) { return t.matcher->matches_empty(); })) {
    return core::Status::InvalidArgument(
        "vector selector must contain at least one non-empty matcher");
  }

  // The base: the term not matching "" whose postings are cheapest to build.
  // A term not matching "" needs its label, so a missing one empties the result.
  size_t base = terms.size();
  double base_cost = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    const Matcher& m = *t.matcher;
    if (m.matches_empty()) continue;
    double cost;
    const std::vector<std::string>* literals = t.pattern ? t.pattern->literals() : nullptr;
    if (m.type() == Matcher::Type::kEqual) {
      const internal::PostingsList* list = index.Find(m.name(), m.value());
      if (list == nullptr) return std::vector<SeriesRef>{};
      cost = static_cast<double>(list->size());
    } else if (m.type() == Matcher::Type::kRegexMatch && literals != nullptr) {
      size_t n = 0;
      for (const std::string& v : *literals) {
        if (const internal::PostingsList* list = index.Find(m.name(), v)) n += list->size();
      }
      if (n == 0) return std::vector<SeriesRef>{};
      cost = static_cast<double>(n + literals->size());
    } else {
      const internal::PostingsIndex::Name* name = index.FindName(m.name());
      if (name == nullptr) return std::vector<SeriesRef>{};
      const double per_value = (t.pattern != nullptr && t.pattern->needs_re2()) ? 8 : 1;
      cost =
          static_cast<double>(name->total) + per_value * static_cast<double>(name->values.size());
    }
    if (cost < base_cost) {
      base_cost = cost;
      base = i;
    }
  }

  std::vector<uint32_t> ids = Resolve(terms[base]);

  // Narrow down: equality terms by intersecting postings, smallest first;
  // every other term by checking the candidates' own labels, cheap kinds first.
  std::vector<std::pair<size_t, const Term*>> rest;
  for (size_t i = 0; i < terms.size(); ++i) {
    if (i == base) continue;
    const Term& t = terms[i];
    const Matcher& m = *t.matcher;
    size_t rank;
    if (m.type() == Matcher::Type::kEqual && !m.matches_empty()) {
      const internal::PostingsList* list = index.Find(m.name(), m.value());
      if (list == nullptr) return std::vector<SeriesRef>{};
      rank = list->size();
    } else if (t.pattern == nullptr) {
      rank = SIZE_MAX - 2;
    } else if (!t.pattern->needs_re2()) {
      rank = SIZE_MAX - 1;
    } else {
      rank = SIZE_MAX;
    }
    rest.emplace_back(rank, &t);
  }
  std::stable_sort(rest.begin(), rest.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [rank, term] : rest) {
    if (ids.empty()) break;
    const Matcher& m = *term->matcher;
    if (m.type() == Matcher::Type::kEqual && !m.matches_empty()) {
      Intersect(*index.Find(m.name(), m.value()), &ids);
    } else {
      Filter(*term, &ids);
    }
  }

  SortByLabels(&ids);
  std::vector<SeriesRef> refs;
  refs.reserve(ids.size());
  for (uint32_t id : ids) refs.push_back(RefOf(id));
  return refs;
}

std::vector<uint32_t> Store::Impl::Resolve(const Term& term) const {
  const Matcher& m = *term.matcher;
  std::vector<const internal::PostingsList*> lists;
  const std::vector<std::string>* literals = term.pattern ? term.pattern->literals() : nullptr;
  if (m.type() == Matcher::Type::kEqual) {
    if (const internal::PostingsList* list = index.Find(m.name(), m.value())) lists.push_back(list);
  } else if (m.type() == Matcher::Type::kRegexMatch && literals != nullptr) {
    for (const std::string& v : *literals) {
      if (const internal::PostingsList* list = index.Find(m.name(), v)) lists.push_back(list);
    }
  } else if (const internal::PostingsIndex::Name* name = index.FindName(m.name())) {
    index.ForEachValue(*name, [&](std::string_view value, const internal::PostingsList& list) {
      if (m.Matches(value)) lists.push_back(&list);
    });
  }
  return Union(lists);
}

std::vector<uint32_t> Store::Impl::Union(
    std::span<const internal::PostingsList* const> lists) const {
  std::vector<uint32_t> out;
  if (lists.empty()) return out;
  if (lists.size() == 1) {
    std::vector<uint32_t> scratch;
    std::span<const uint32_t> ids = lists[0]->Sorted(&scratch);
    out.assign(ids.begin(), ids.end());
    return out;
  }
  size_t total = 0;
  for (const auto* list : lists) total += list->size();
  // The lists hold different values of one label, so they are disjoint.
  if (total <= 1024 || total < slots / 64) {
    out.reserve(total);
    for (const auto* list : lists) out.insert(out.end(), list->ids().begin(), list->ids().end());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<uint64_t> bits((slots + 63) / 64);
  for (const auto* list : lists) {
    for (uint32_t id : list->ids()) bits[id >> 6] |= uint64_t{1} << (id & 63);
  }
  out.reserve(total);
  for (size_t w = 0; w < bits.size(); ++w) {
    for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
      out.push_back(static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(word))));
    }
  }
  return out;
}

void Store::Impl::Intersect(const internal::PostingsList& list, std::vector<uint32_t>* ids) const {
  std::vector<uint32_t> scratch;
  const std::span<const uint32_t> other = list.Sorted(&scratch);
  size_t kept = 0;
  if (other.size() <= 32 * ids->size()) {
    size_t j = 0;
    for (uint32_t id : *ids) {
      while (j < other.size() && other[j] < id) ++j;
      if (j == other.size()) break;
      if (other[j] == id) (*ids)[kept++] = id;
    }
  } else {
    // Much longer list: binary-search it from where the last id was found.
    auto from = other.begin();
    for (uint32_t id : *ids) {
      from = std::lower_bound(from, other.end(), id);
      if (from == other.end()) break;
      if (*from == id) (*ids)[kept++] = id;
    }
  }
  ids->resize(kept);
}

void Store::Impl::Filter(const Term& term, std::vector<uint32_t>* ids) const {
  const Matcher& m = *term.matcher;
  // RE2 costs far more than a hash lookup, and few distinct values recur.
  const bool memoize = term.pattern != nullptr && term.pattern->needs_re2();
  std::unordered_map<std::string_view, bool> memo;
  size_t kept = 0;
  for (uint32_t id : *ids) {
    const std::string_view value = At(id).labels.Get(m.name());
    bool match;
    if (memoize) {
      auto [it, inserted] = memo.try_emplace(value, false);
      if (inserted) it->second = m.Matches(value);
      match = it->second;
    } else {
      match = m.Matches(value);
    }
    if (match) (*ids)[kept++] = id;
  }
  ids->resize(kept);
}

// ---------------------------------------------------------------- Appender

struct Appender::Pending {
  std::vector<PendingSample> samples;
};

Appender::Appender(Store* store) : store_(store), pending_(std::make_unique<Pending>()) {}
Appender::Appender(Appender&&) noexcept = default;
Appender& Appender::operator=(Appender&&) noexcept = default;
Appender::~Appender() = default;

SeriesRef Appender::GetOrCreate(const core::Labels& labels) {
  if (!pending_ || labels.empty()) return {};
  Store::Impl& impl = *store_->impl_;
  if (const SeriesRef ref = impl.LookupShared(&store_->mu_, labels); ref.valid()) return ref;
  WriteLock lock(&impl.gate, &store_->mu_);
  return impl.GetOrCreateLocked(core::Labels(labels));  // created meanwhile by another appender?
}

SeriesRef Appender::GetOrCreate(core::Labels&& labels) {
  if (!pending_ || labels.empty()) return {};
  Store::Impl& impl = *store_->impl_;
  if (const SeriesRef ref = impl.LookupShared(&store_->mu_, labels); ref.valid()) return ref;
  WriteLock lock(&impl.gate, &store_->mu_);
  return impl.GetOrCreateLocked(std::move(labels));
}

void Appender::GetOrCreateAll(std::span<core::Labels> labels, std::span<SeriesRef> refs) {
  const size_t n = std::min(labels.size(), refs.size());
  if (!pending_) {
    std::fill(refs.begin(), refs.end(), SeriesRef{});
    return;
  }
  Store::Impl& impl = *store_->impl_;
  WriteLock lock(&impl.gate, &store_->mu_);
  impl.map.Reserve(impl.live + n);
  for (size_t i = 0; i < n; ++i) {
    // The hash table is bigger than the caches: fetch the bucket ahead
    // (unconditionally: GCC 12 drops a prefetch inside a branch).
    impl.map.Prefetch(labels[std::min(i + 8, n - 1)].hash());
    refs[i] = labels[i].empty() ? SeriesRef{} : impl.GetOrCreateLocked(std::move(labels[i]));
  }
}

void Appender::ReserveSeries(size_t n) {
  if (!pending_ || n == 0) return;
  Store::Impl& impl = *store_->impl_;
  WriteLock lock(&impl.gate, &store_->mu_);
  impl.map.Reserve(impl.live + n);
  impl.rank.reserve(impl.slots + n);
  impl.unranked.reserve(impl.unranked.size() + n);
}

bool Appender::Append(SeriesRef ref, int64_t t_ms, double value) {
  if (!pending_ || !store_->impl_->IsLive(ref)) return false;
  pending_->samples.push_back({ref.slot, ref.generation, t_ms, value});
  return true;
}

AppendStats Appender::Commit() {
  AppendStats stats;
  if (!pending_ || pending_->samples.empty()) return stats;
  Store::Impl& impl = *store_->impl_;
  {
    WriteLock lock(&impl.gate, &store_->mu_);
    const internal::ChunkPolicy policy = impl.Policy();
    const std::vector<PendingSample>& samples = pending_->samples;
    for (size_t i = 0; i < samples.size(); ++i) {
      // Memory-bound: fetch the series 16 ahead (both of its cache lines),
      // and its chunk bytes 8 ahead. Their segments exist: Append() saw them
      // live, and segments stay.
      if (i + 16 < samples.size()) {
        const Series& ahead = impl.At(samples[i + 16].slot);
        __builtin_prefetch(&ahead.labels);
        __builtin_prefetch(&ahead.samples);
      }
      if (i + 8 < samples.size()) impl.At(samples[i + 8].slot).samples.Prefetch();
      const PendingSample& p = samples[i];
      if (!impl.IsLive({p.slot, p.generation})) {
        ++stats.stale_series;
        continue;
      }
      Series& series = impl.At(p.slot);
      internal::SampleBuffer& buffer = series.samples;
      if (!buffer.empty()) {
        if (p.t_ms < buffer.last_t()) {
          ++stats.out_of_order;
          continue;
        }
        if (p.t_ms == buffer.last_t()) {
          ++stats.duplicate;
          continue;
        }
      }
      impl.samples -= buffer.Append(p.t_ms, p.value, policy, series.labels.hash());
      ++impl.samples;
      ++stats.appended;
    }
  }
  pending_->samples.clear();
  return stats;
}

void Appender::Rollback() {
  if (pending_) pending_->samples.clear();
}

// ---------------------------------------------------------------- View

View::View(const Store* store) : store_(store), lock_(store->mu_, std::defer_lock) {
  if (t_views_held == 0) {
    std::lock_guard<std::mutex> gate(store->impl_->gate);
    lock_.lock();
  } else {
    lock_.lock();  // glibc grants a nested shared lock even while a writer waits
  }
  ++t_views_held;
}
View::View(View&&) noexcept = default;
View::~View() {
  if (lock_.owns_lock()) --t_views_held;
}

core::Result<std::vector<SeriesRef>> View::Select(std::span<const Matcher> matchers) const {
  std::vector<Term> terms;
  terms.reserve(matchers.size());
  for (const Matcher& m : matchers) terms.push_back({&m, m.pattern_.get()});
  return store_->impl_->Select(terms);
}

const core::Labels& View::labels(SeriesRef ref) const {
  static const core::Labels kNone;
  const Store::Impl& impl = *store_->impl_;
  return impl.IsLive(ref) ? impl.At(ref.slot).labels : kNone;
}

void View::Samples(SeriesRef ref, int64_t mint_ms, int64_t maxt_ms,
                   std::vector<Sample>* out) const {
  out->clear();
  const Store::Impl& impl = *store_->impl_;
  if (!impl.IsLive(ref) || mint_ms >= maxt_ms) return;
  impl.At(ref.slot).samples.Read(mint_ms, maxt_ms, out);
}

std::vector<std::string> View::LabelNames() const { return store_->impl_->index.Names(); }

std::vector<std::string> View::LabelValues(std::string_view name) const {
  return store_->impl_->index.ValuesOf(name);
}

// ---------------------------------------------------------------- Store

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->retention_ms = std::max<int64_t>(options.retention.millis(), 0);
}

Store::~Store() = default;

Appender Store::NewAppender() { return Appender(this); }

View Store::NewView() const { return View(this); }

void Store::SetRetention(core::Duration retention) {
  WriteLock lock(&impl_->gate, &mu_);
  impl_->retention_ms = std::max<int64_t>(retention.millis(), 0);
}

size_t Store::Collect(int64_t now_ms) {
  WriteLock lock(&impl_->gate, &mu_);
  Impl& impl = *impl_;
  if (impl.retention_ms == 0) return 0;  // keep everything
  const int64_t cutoff = SaturatingSub(now_ms, impl.retention_ms);
  std::vector<core::Labels> dropped;
  std::vector<uint8_t> dead;
  for (uint32_t slot = 0; slot < impl.slots; ++slot) {
    std::atomic<uint32_t>& state_word = impl.StateOf(slot);
    const uint32_t state = state_word.load(std::memory_order_relaxed);
    if ((state & kLive) == 0) continue;
    internal::SampleBuffer& buffer = impl.At(slot).samples;
    if (buffer.empty() && (state & kFresh) != 0) {
      state_word.store(state & ~kFresh, std::memory_order_release);
      continue;  // created since the last Collect: its samples may be on the way
    }
    if (!buffer.empty() && buffer.last_t() >= cutoff) {
      impl.samples -= buffer.DropBefore(cutoff);
      continue;
    }
    // No sample in [cutoff, now]: the series ended (a stale marker or just
    // silence) longer ago than any window or lookback can reach.
    if (dead.empty()) dead.resize(impl.slots);
    dead[slot] = 1;
    impl.Drop(slot, state, &dropped);
  }
  if (!dropped.empty()) impl.index.Remove(dropped, dead);
  return dropped.size();
}

StoreStats Store::Stats() const {
  View view(this);  // a reader like any other, gate included
  const Impl& impl = *impl_;
  StoreStats stats;
  stats.series = impl.live;
  stats.samples = impl.samples;
  size_t rank_ids;
  {
    std::lock_guard<std::mutex> guard(impl.rank_mu);  // another View may be merging ranks
    rank_ids = impl.order.capacity() + impl.rank.capacity() + impl.unranked.capacity();
  }
  size_t bytes = sizeof(Impl) + impl.segments.size() * sizeof(Segment) +
                 (impl.free_slots.capacity() + rank_ids) * sizeof(uint32_t) + impl.map.ByteSize() +
                 impl.index.ByteSize();
  for (uint32_t slot = 0; slot < impl.slots; ++slot) {
    if ((impl.StateOf(slot).load(std::memory_order_relaxed) & kLive) == 0) continue;
    const Series& s = impl.At(slot);
    bytes += LabelsHeapBytes(s.labels);
    if (s.samples.capacity_bytes() > 0) bytes += s.samples.capacity_bytes() + 8;
  }
  stats.bytes = bytes;
  return stats;
}

}  // namespace amas::store
