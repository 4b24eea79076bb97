// postings.h (internal): label name -> value -> ids of the series carrying it.
//
// A list keeps a sorted prefix and a short unsorted tail: reused (lower) ids
// are appended cheaply and merged in once the tail grows past a fraction of
// the list, so adding a series costs amortized O(labels). Readers get sorted
// ids through Sorted(). Not thread-safe: the Store's lock guards it.
//
// Layout, for the first scrape of a big target (every series new): label
// names are interned to small ids; every (name id, value) pair is one entry
// in a flat table found with one probe (open addressing, no node per value);
// and Add() first compares each label with the label at the same position of
// the previous set added, because consecutive series of a scrape repeat most
// of them, so most labels cost a short compare and an append to a list whose
// tail is still in cache.
#ifndef AMAS_STORE_POSTINGS_H_
#define AMAS_STORE_POSTINGS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.h"

namespace amas::store::internal {

class PostingsList {
 public:
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  void Add(uint32_t id) {
    if (sorted_ == ids_.size() && (ids_.empty() || ids_.back() < id)) {
      ids_.push_back(id);
      ++sorted_;
      return;
    }
    AddUnsorted(id);
  }
  // Removes the ids with dead[id] set; returns how many went.
  size_t RemoveDead(const std::vector<uint8_t>& dead);
  // The ids ascending: the list itself, or *scratch when the tail needed sorting.
  std::span<const uint32_t> Sorted(std::vector<uint32_t>* scratch) const;
  // Unordered; fine for unions.
  std::span<const uint32_t> ids() const { return ids_; }
  size_t ByteSize() const { return ids_.capacity() * sizeof(uint32_t); }

 private:
  void AddUnsorted(uint32_t id);
  void Compact();
  std::vector<uint32_t> ids_;
  uint32_t sorted_ = 0;  // ids_[0, sorted_) ascending; the rest in insertion order
};

class PostingsIndex {
 public:
  PostingsIndex() = default;
  PostingsIndex(const PostingsIndex&) = delete;  // recent_ points into names_
  PostingsIndex& operator=(const PostingsIndex&) = delete;

  // One (name, value) pair and the series carrying it.
  struct Entry {
    std::string value;
    PostingsList list;
    uint64_t hash = 0;  // of (name id, value): the probe starts here
    uint32_t name_id = 0;
    uint32_t position = 0;  // index in its Name's values
    // The entry at the same position in the set added after the last set
    // that had this one: a label cycling through a few values (le, quantile)
    // finds the next one here without hashing.
    uint32_t next = UINT32_MAX;
  };
  struct Name {
    std::string name;
    std::vector<uint32_t> values;  // entry ids, unordered
    size_t total = 0;              // ids over all values
  };

  void Add(const core::Labels& labels, uint32_t id);
  // Drops the ids marked in dead from the lists of these label sets, and the
  // lists left empty.
  void Remove(std::span<const core::Labels> labels, const std::vector<uint8_t>& dead);

  // nullptr when no series carries the label.
  const Name* FindName(std::string_view name) const;
  const PostingsList* Find(std::string_view name, std::string_view value) const;
  // Every value of a name found by FindName, with its list.
  template <typename F>
  void ForEachValue(const Name& name, F f) const {
    for (uint32_t e : name.values) f(std::string_view(entries_[e].value), entries_[e].list);
  }
  std::vector<std::string> Names() const;                          // sorted
  std::vector<std::string> ValuesOf(std::string_view name) const;  // sorted
  size_t ByteSize() const;                                         // estimate, including tables

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint32_t tag = 0;  // high half of the entry's hash
    uint32_t entry = kNone;
  };
  // Where the last label set added had each label, by position. The views
  // point into names_ and entries_ (refreshed when entries_ moves), so a
  // repeated label costs two compares on memory already in cache.
  struct Recent {
    std::string_view name;
    std::string_view value;
    Name* name_entry;
    uint32_t name_id;
    uint32_t entry;
  };

  static uint64_t PairHash(uint32_t name_id, std::string_view value) {
    return core::Hash64(value, name_id);
  }
  uint32_t NameId(std::string_view name) const;  // kNone if never seen
  uint32_t InternName(std::string_view name);
  uint32_t FindEntry(uint32_t name_id, std::string_view value, uint64_t hash) const;
  uint32_t AddEntry(uint32_t name_id, std::string_view value, uint64_t hash);
  // The entry for (name_id, value), found by the memo's next link or the
  // table, created if absent.
  uint32_t Resolve(uint32_t name_id, std::string_view value, uint32_t previous);
  void EraseEntry(uint32_t entry);
  void RefreshRecentValues();
  void GrowSlots();

  // Names never go (a handful per store; Names() skips the empty ones), so
  // ids and the Name addresses in recent_ stay valid.
  std::deque<Name> names_;
  std::unordered_map<std::string_view, uint32_t> name_ids_;  // views into names_
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_entries_;
  std::vector<Slot> slots_;  // open addressing, linear probing, load <= 1/2
  size_t mask_ = 0;
  size_t used_ = 0;
  std::vector<Recent> recent_;
};

}  // namespace amas::store::internal

#endif  // AMAS_STORE_POSTINGS_H_
