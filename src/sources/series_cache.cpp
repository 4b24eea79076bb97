#include "sources/series_cache.h"

#include <algorithm>
#include <utility>

namespace amas::sources {

void FlatIndex::Insert(uint64_t hash, uint32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const uint32_t tag = static_cast<uint32_t>(hash);
  size_t i = tag & mask_;
  while (slots_[i].id != kNoEntry) i = (i + 1) & mask_;
  slots_[i] = Slot{id, tag};
  ++size_;
}

bool FlatIndex::Erase(uint64_t hash, uint32_t id) {
  if (size_ == 0) return false;
  size_t i = static_cast<uint32_t>(hash) & mask_;
  while (slots_[i].id != id) {
    if (slots_[i].id == kNoEntry) return false;
    i = (i + 1) & mask_;
  }
  // Backward shift: move later members of the probe run into the hole when
  // their home slot is not between the hole and their position.
  size_t hole = i;
  for (size_t j = (hole + 1) & mask_; slots_[j].id != kNoEntry; j = (j + 1) & mask_) {
    const size_t home = slots_[j].tag & mask_;
    const bool home_in_gap = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!home_in_gap) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
  return true;
}

void FlatIndex::Reserve(size_t n) {
  if (slots_.size() >= 2 * n) return;
  size_t capacity = slots_.empty() ? 16 : slots_.size();
  while (capacity < 2 * n) capacity *= 2;
  Rehash(capacity);
}

void FlatIndex::Clear() {
  slots_.clear();
  mask_ = 0;
  size_ = 0;
}

void FlatIndex::Grow() { Rehash(slots_.empty() ? 16 : slots_.size() * 2); }

void FlatIndex::Rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.id == kNoEntry) continue;
    size_t i = s.tag & mask_;
    while (slots_[i].id != kNoEntry) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void KeyArena::StartChunk(size_t at_least) {
  const size_t chunks = std::max<size_t>(1, (at_least + kChunkSize - 1) >> kChunkBits);
  owned_.push_back(std::make_unique_for_overwrite<char[]>(chunks << kChunkBits));
  end_ = chunks_.size() << kChunkBits;
  for (size_t i = 0; i < chunks; ++i) chunks_.push_back(owned_.back().get() + (i << kChunkBits));
  room_ = chunks << kChunkBits;
}

void KeyArena::Clear() {
  owned_.clear();
  chunks_.clear();
  end_ = 0;
  room_ = 0;
}

uint32_t SeriesCache::FindByHash(uint64_t hash, std::string_view key) const {
  return by_key_.Find(hash, [&](uint32_t id) {
    const CacheEntry& e = entries_[id];
    return e.hash == hash && e.key_size == key.size() &&
           key == keys_.View(e.key_offset, e.key_size);
  });
}

void SeriesCache::Reserve(size_t entries) {
  entries_.reserve(entries);
  by_key_.Reserve(entries);
  by_ref_.Reserve(entries);
}

uint32_t SeriesCache::InsertKey(std::string_view key, uint64_t hash) {
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  CacheEntry& e = entries_[id];
  e = CacheEntry{};
  e.hash = hash;
  e.key_offset = keys_.Append(key);
  e.key_size = static_cast<uint32_t>(key.size());
  e.live = true;
  live_key_bytes_ += key.size();
  by_key_.Insert(e.hash, id);
  return id;
}

void SeriesCache::Bind(uint32_t id, store::SeriesRef ref) {
  CacheEntry& e = entries_[id];
  e.ref = ref;
  const uint64_t rh = RefHash(ref);
  const uint32_t owner =
      by_ref_.Find(rh, [&](uint32_t other) { return entries_[other].ref == ref; });
  if (owner != kNoEntry) {
    e.owner = owner;
  } else {
    e.owner = id;
    by_ref_.Insert(rh, id);
  }
}

void SeriesCache::Rebind(uint32_t id, store::SeriesRef ref) {
  const uint32_t owner = entries_[id].owner;
  CacheEntry& o = entries_[owner];
  if (o.ref == ref) {
    entries_[id].ref = ref;
    return;
  }
  by_ref_.Erase(RefHash(o.ref), owner);
  o.ref = ref;
  by_ref_.Insert(RefHash(ref), owner);
  entries_[id].ref = ref;
}

void SeriesCache::Erase(uint32_t id) {
  CacheEntry& e = entries_[id];
  if (!e.live) return;
  by_key_.Erase(e.hash, id);
  if (e.owner == id) by_ref_.Erase(RefHash(e.ref), id);
  live_key_bytes_ -= e.key_size;
  e.live = false;
  free_ids_.push_back(id);
}

void SeriesCache::Clear() {
  entries_.clear();
  free_ids_.clear();
  keys_.Clear();
  live_key_bytes_ = 0;
  by_key_.Clear();
  by_ref_.Clear();
}

void SeriesCache::MaybeCompact() {
  if (keys_.size() < (1u << 20) || keys_.size() < 2 * live_key_bytes_) return;
  KeyArena compact;
  for (CacheEntry& e : entries_) {
    if (!e.live) continue;
    e.key_offset = compact.Append(keys_.View(e.key_offset, e.key_size));
  }
  keys_ = std::move(compact);
}

}  // namespace amas::sources
