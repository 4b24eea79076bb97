#include "store/postings.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/bytes.h"

namespace amas::store::internal {
namespace {

using core::SameBytes;

// Heap bytes of a std::string beyond its inline buffer (SSO holds 15).
size_t StringHeap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0; }

}  // namespace

void PostingsList::AddUnsorted(uint32_t id) {
  ids_.push_back(id);
  // A tail of at most 1/16 of the list keeps merging amortized O(1) per id.
  if (ids_.size() - sorted_ > 32 + sorted_ / 16) Compact();
}

void PostingsList::Compact() {
  const auto mid = ids_.begin() + sorted_;
  std::sort(mid, ids_.end());
  std::inplace_merge(ids_.begin(), mid, ids_.end());
  sorted_ = static_cast<uint32_t>(ids_.size());
}

size_t PostingsList::RemoveDead(const std::vector<uint8_t>& dead) {
  // Order-preserving: the survivors of the sorted prefix stay a sorted prefix.
  const size_t before = ids_.size();
  size_t kept = 0, kept_sorted = 0;
  for (size_t i = 0; i < ids_.size(); ++i) {
    const uint32_t id = ids_[i];
    if (id < dead.size() && dead[id] != 0) continue;
    ids_[kept++] = id;
    if (i < sorted_) kept_sorted = kept;
  }
  ids_.resize(kept);
  sorted_ = static_cast<uint32_t>(kept_sorted);
  if (ids_.capacity() > 2 * ids_.size() + 16) ids_.shrink_to_fit();
  return before - kept;
}

std::span<const uint32_t> PostingsList::Sorted(std::vector<uint32_t>* scratch) const {
  if (sorted_ == ids_.size()) return ids_;
  scratch->assign(ids_.begin(), ids_.end());
  const auto mid = scratch->begin() + sorted_;
  std::sort(mid, scratch->end());
  std::inplace_merge(scratch->begin(), mid, scratch->end());
  return *scratch;
}

// ---------------------------------------------------------------- PostingsIndex

uint32_t PostingsIndex::NameId(std::string_view name) const {
  auto it = name_ids_.find(name);
  return it == name_ids_.end() ? kNone : it->second;
}

uint32_t PostingsIndex::InternName(std::string_view name) {
  const uint32_t id = NameId(name);
  if (id != kNone) return id;
  names_.push_back(Name{std::string(name), {}, 0});
  const uint32_t new_id = static_cast<uint32_t>(names_.size() - 1);
  name_ids_.emplace(names_.back().name, new_id);
  return new_id;
}

uint32_t PostingsIndex::FindEntry(uint32_t name_id, std::string_view value, uint64_t hash) const {
  if (used_ == 0) return kNone;
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.entry == kNone) return kNone;
    if (s.tag != tag) continue;
    const Entry& e = entries_[s.entry];
    if (e.name_id == name_id && SameBytes(e.value, value)) return s.entry;
  }
}

void PostingsIndex::GrowSlots() {
  const size_t n = slots_.empty() ? 1024 : slots_.size() * 2;
  slots_.assign(n, Slot{});
  mask_ = n - 1;
  for (uint32_t id = 0; id < entries_.size(); ++id) {
    const Entry& e = entries_[id];
    if (e.name_id == kNone) continue;  // free
    size_t i = e.hash & mask_;
    while (slots_[i].entry != kNone) i = (i + 1) & mask_;
    slots_[i] = Slot{static_cast<uint32_t>(e.hash >> 32), id};
  }
}

uint32_t PostingsIndex::AddEntry(uint32_t name_id, std::string_view value, uint64_t hash) {
  if ((used_ + 1) * 2 > slots_.size()) GrowSlots();
  uint32_t id;
  if (!free_entries_.empty()) {
    id = free_entries_.back();
    free_entries_.pop_back();
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[id];
  e.value.assign(value);
  e.hash = hash;
  e.name_id = name_id;
  Name& name = names_[name_id];
  e.position = static_cast<uint32_t>(name.values.size());
  name.values.push_back(id);
  size_t i = hash & mask_;
  while (slots_[i].entry != kNone) i = (i + 1) & mask_;
  slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), id};
  ++used_;
  return id;
}

void PostingsIndex::EraseEntry(uint32_t id) {
  Entry& e = entries_[id];
  size_t i = e.hash & mask_;
  while (slots_[i].entry != id) i = (i + 1) & mask_;
  // Backward-shift deletion: pull later entries of the run into the hole
  // when their home slot allows it, so no tombstones are needed.
  size_t hole = i;
  for (size_t j = (hole + 1) & mask_; slots_[j].entry != kNone; j = (j + 1) & mask_) {
    const size_t home = entries_[slots_[j].entry].hash & mask_;
    const bool home_in_range = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (home_in_range) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
  --used_;
  Name& name = names_[e.name_id];
  const uint32_t last = name.values.back();
  name.values[e.position] = last;
  entries_[last].position = e.position;
  name.values.pop_back();
  if (name.values.empty()) std::vector<uint32_t>().swap(name.values);
  e.value = std::string();
  e.list = PostingsList();
  e.name_id = kNone;
  e.next = kNone;
  free_entries_.push_back(id);
}

uint32_t PostingsIndex::Resolve(uint32_t name_id, std::string_view value, uint32_t previous) {
  if (previous != kNone) {
    const uint32_t next = entries_[previous].next;
    if (next != kNone && entries_[next].name_id == name_id &&
        SameBytes(entries_[next].value, value)) {
      return next;
    }
  }
  const uint64_t hash = PairHash(name_id, value);
  uint32_t entry = FindEntry(name_id, value, hash);
  if (entry == kNone) entry = AddEntry(name_id, value, hash);
  if (previous != kNone) entries_[previous].next = entry;
  return entry;
}

void PostingsIndex::RefreshRecentValues() {
  for (Recent& r : recent_) r.value = entries_[r.entry].value;
}

void PostingsIndex::Add(const core::Labels& labels, uint32_t id) {
  size_t i = 0;
  for (core::Label l : labels) {
    if (i < recent_.size() && SameBytes(recent_[i].name, l.name)) {
      // Same label name at the same position as in the last set: most series
      // of a scrape repeat most values too, then no hashing at all.
      Recent& r = recent_[i];
      if (!SameBytes(r.value, l.value)) {
        const size_t capacity = entries_.capacity();
        r.entry = Resolve(r.name_id, l.value, r.entry);
        if (entries_.capacity() != capacity) RefreshRecentValues();
        r.value = entries_[r.entry].value;
      }
      entries_[r.entry].list.Add(id);
      ++r.name_entry->total;
      ++i;
      continue;
    }
    const uint32_t name_id = InternName(l.name);
    Name& name = names_[name_id];
    const size_t capacity = entries_.capacity();
    const uint32_t entry = Resolve(name_id, l.value, kNone);
    if (entries_.capacity() != capacity) RefreshRecentValues();
    const Recent r{name.name, entries_[entry].value, &name, name_id, entry};
    if (i < recent_.size()) {
      recent_[i] = r;
    } else {
      recent_.push_back(r);
    }
    entries_[entry].list.Add(id);
    ++name.total;
    ++i;
  }
}

void PostingsIndex::Remove(std::span<const core::Labels> labels, const std::vector<uint8_t>& dead) {
  // Each touched list once, however many dead series share it.
  recent_.clear();  // entries may go below
  std::vector<uint32_t> touched;
  for (const core::Labels& set : labels) {
    for (core::Label l : set) {
      const uint32_t name_id = NameId(l.name);
      if (name_id == kNone) continue;
      const uint32_t entry = FindEntry(name_id, l.value, PairHash(name_id, l.value));
      if (entry != kNone) touched.push_back(entry);
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint32_t entry : touched) {
    Entry& e = entries_[entry];
    names_[e.name_id].total -= e.list.RemoveDead(dead);
    if (e.list.empty()) EraseEntry(entry);
  }
}

const PostingsIndex::Name* PostingsIndex::FindName(std::string_view name) const {
  const uint32_t id = NameId(name);
  if (id == kNone || names_[id].values.empty()) return nullptr;
  return &names_[id];
}

const PostingsList* PostingsIndex::Find(std::string_view name, std::string_view value) const {
  const uint32_t id = NameId(name);
  if (id == kNone) return nullptr;
  const uint32_t entry = FindEntry(id, value, PairHash(id, value));
  return entry == kNone ? nullptr : &entries_[entry].list;
}

std::vector<std::string> PostingsIndex::Names() const {
  std::vector<std::string> out;
  for (const Name& n : names_) {
    if (!n.values.empty()) out.push_back(n.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PostingsIndex::ValuesOf(std::string_view name) const {
  std::vector<std::string> out;
  const Name* n = FindName(name);
  if (n == nullptr) return out;
  out.reserve(n->values.size());
  for (uint32_t e : n->values) out.push_back(entries_[e].value);
  std::sort(out.begin(), out.end());
  return out;
}

size_t PostingsIndex::ByteSize() const {
  size_t bytes = slots_.capacity() * sizeof(Slot) + entries_.capacity() * sizeof(Entry) +
                 free_entries_.capacity() * sizeof(uint32_t) +
                 name_ids_.bucket_count() * sizeof(void*) + recent_.capacity() * sizeof(Recent);
  for (const Name& n : names_) {
    bytes += sizeof(Name) + StringHeap(n.name) + n.values.capacity() * sizeof(uint32_t);
    bytes += 48;  // its name_ids_ node
  }
  for (const Entry& e : entries_) {
    bytes += StringHeap(e.value);
    if (e.list.ByteSize() > 0) bytes += e.list.ByteSize() + 16;  // malloc header
  }
  return bytes;
}

}  // namespace amas::store::internal
