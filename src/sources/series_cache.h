// series_cache.h (internal): a target's scrape cache, raw series bytes → store ref.
// A repeated scrape recognises a series by the exact bytes the parser returns
// for it (Parser::series()), so it skips label decoding, relabelling and label
// hashing. Targets expose their series in the same order every scrape, so each
// entry remembers which entry followed it last time: the next lookup is usually
// one memcmp on memory read in order, and the hash table is the fallback.
// Entries also carry the staleness and duplicate bookkeeping of ScrapeState.
// Like Prometheus's cache, a series keeps the labels it was cached with while
// it stays exposed, even if its family's TYPE changes (le/quantile rendering).
// Not thread-safe: one scrape loop owns it.
#ifndef AMAS_SOURCES_SERIES_CACHE_H_
#define AMAS_SOURCES_SERIES_CACHE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace amas::sources {

inline constexpr uint32_t kNoEntry = UINT32_MAX;

// Open addressing (linear probing, backward-shift deletion) from a 64-bit
// hash to a uint32 id; the caller stores keys and says when two are equal.
class FlatIndex {
 public:
  // The id whose hash is `hash` and for which eq(id) is true, or kNoEntry.
  template <typename Eq>
  uint32_t Find(uint64_t hash, Eq eq) const {
    if (size_ == 0) return kNoEntry;
    const uint32_t tag = static_cast<uint32_t>(hash);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kNoEntry) return kNoEntry;
      if (s.tag == tag && eq(s.id)) return s.id;
    }
  }
  // Brings the slot where Find(hash) starts into cache (no branch: GCC 12
  // drops prefetches inside one; an empty table's null data never faults).
  void Prefetch(uint64_t hash) const {
    __builtin_prefetch(slots_.data() + (static_cast<uint32_t>(hash) & mask_));
  }
  // The caller makes sure no equal key is present.
  void Insert(uint64_t hash, uint32_t id);
  void Reserve(size_t n);
  // Removes id (inserted with hash); false if it was not there.
  bool Erase(uint64_t hash, uint32_t id);
  void Clear();
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t id = kNoEntry;
    uint32_t tag = 0;  // low 32 bits of the hash; enough to find the home slot again
  };
  void Grow();
  void Rehash(size_t capacity);  // a power of two, at least twice size_
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Bytes appended back to back in chunks of 1 MiB, each run of bytes inside
// one chunk. A first scrape's keys (~30 MB for a big target) in one block
// would be a fresh mmap on every first scrape, paid for in page faults;
// chunks come from and go back to the heap, and growing never copies.
// Offsets are 32-bit: at most 4 GiB of keys between compactions.
class KeyArena {
 public:
  // Copies bytes in; returns the offset that names them.
  uint32_t Append(std::string_view bytes) {
    if (bytes.empty()) return 0;
    if (bytes.size() > room_) StartChunk(bytes.size());
    const auto offset = static_cast<uint32_t>(end_);
    std::memcpy(chunks_[offset >> kChunkBits] + (offset & kChunkMask), bytes.data(), bytes.size());
    end_ += bytes.size();
    room_ -= bytes.size();
    return offset;
  }
  // The bytes Append(bytes) named offset, given their size.
  std::string_view View(uint32_t offset, uint32_t size) const {
    if (size == 0) return {};
    return {chunks_[offset >> kChunkBits] + (offset & kChunkMask), size};
  }
  // Offsets handed out so far, chunk tails skipped included.
  size_t size() const { return end_; }
  void Clear();

 private:
  static constexpr unsigned kChunkBits = 20;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;
  static constexpr uint32_t kChunkMask = kChunkSize - 1;
  // A new chunk (several chunk indices long for a run over 1 MiB).
  void StartChunk(size_t at_least);
  std::vector<std::unique_ptr<char[]>> owned_;
  std::vector<char*> chunks_;  // by offset >> kChunkBits
  size_t end_ = 0;
  size_t room_ = 0;  // bytes left in the last chunk
};

// One distinct byte string a target exposed. Several entries may name the same
// store series (same labels written differently); the first one is the
// series' owner and holds its staleness state.
struct CacheEntry {
  uint64_t hash = 0;
  uint32_t key_offset = 0;
  uint32_t key_size = 0;
  store::SeriesRef ref;
  uint32_t owner = kNoEntry;      // itself for an owner
  uint32_t next = kNoEntry;       // the entry that followed this one in the last scrape
  uint64_t key_seen = 0;          // scrape number that last exposed these bytes
  uint64_t series_seen = 0;       // owners: scrape number that last exposed the series
  uint64_t prev_series_seen = 0;  // owners: series_seen before this scrape, for rollback
  bool track_staleness = false;   // owners: false for samples with explicit timestamps
  bool live = false;
};

class SeriesCache {
 public:
  // Finds the entry for key; hint is the entry expected (kNoEntry: none).
  // Sets *hash to Hash64(key) when it had to compute it (0 otherwise).
  uint32_t Find(std::string_view key, uint32_t hint, uint64_t* hash) const {
    *hash = 0;
    if (hint != kNoEntry) {
      const CacheEntry& e = entries_[hint];
      if (e.live && e.key_size == key.size() && key == keys_.View(e.key_offset, e.key_size)) {
        return hint;
      }
    }
    *hash = core::Hash64(key);
    return FindByHash(*hash, key);
  }
  uint32_t FindByHash(uint64_t hash, std::string_view key) const;
  void Prefetch(uint64_t hash) const { by_key_.Prefetch(hash); }
  // Adds key (absent; hash == Hash64(key)) pointing at ref. The entry becomes an
  // alias of an existing entry naming the same ref, else its own owner.
  uint32_t Insert(std::string_view key, uint64_t hash, store::SeriesRef ref) {
    const uint32_t id = InsertKey(key, hash);
    Bind(id, ref);
    return id;
  }
  // Insert in two steps, for refs resolved in a batch: the key now, with no
  // ref and no owner (findable, but not to be used until bound), then its ref.
  uint32_t InsertKey(std::string_view key, uint64_t hash);
  void Bind(uint32_t id, store::SeriesRef ref);
  uint32_t Insert(std::string_view key, store::SeriesRef ref) {
    return Insert(key, core::Hash64(key), ref);
  }
  // Room for about `entries` series, so a first scrape does not regrow (and
  // copy) its tables several times.
  void Reserve(size_t entries);
  // Points an entry (and its owner's ref index) at a new ref after the store
  // dropped the old one.
  void Rebind(uint32_t id, store::SeriesRef ref);
  void Erase(uint32_t id);
  void Clear();

  CacheEntry& at(uint32_t id) { return entries_[id]; }
  const CacheEntry& at(uint32_t id) const { return entries_[id]; }
  std::string_view key(uint32_t id) const {
    const CacheEntry& e = entries_[id];
    return keys_.View(e.key_offset, e.key_size);
  }
  // Ids from 0 to id_limit()-1; skip entries that are not live.
  uint32_t id_limit() const { return static_cast<uint32_t>(entries_.size()); }
  size_t size() const { return by_key_.size(); }
  // Rewrites the key arena when most of it is garbage. Ids stay valid.
  void MaybeCompact();

 private:
  // The slot itself: a store hands out slots densely and a first scrape creates
  // them in order, so the ref index is filled front to back instead of at
  // random (no cache miss per new series). Dense distinct slots do not collide.
  static uint64_t RefHash(store::SeriesRef ref) {
    return (static_cast<uint64_t>(ref.generation) << 32) | ref.slot;
  }
  std::vector<CacheEntry> entries_;
  std::vector<uint32_t> free_ids_;
  KeyArena keys_;  // every live key
  size_t live_key_bytes_ = 0;
  FlatIndex by_key_;
  FlatIndex by_ref_;  // owners only
};

}  // namespace amas::sources

#endif  // AMAS_SOURCES_SERIES_CACHE_H_
