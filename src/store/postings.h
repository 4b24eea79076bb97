// postings.h (internal): label name -> value -> ids of the series carrying it.
//
// A list keeps a sorted prefix and a short unsorted tail: reused (lower) ids
// are appended cheaply and merged in once the tail grows past a fraction of
// the list, so adding a series costs amortized O(labels). Readers get sorted
// ids through Sorted(). Not thread-safe: the Store's lock guards it.
#ifndef AMAS_STORE_POSTINGS_H_
#define AMAS_STORE_POSTINGS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.h"

namespace amas::store::internal {

struct StringHash {
  using is_transparent = void;
  // Hash64 over std::hash (_Hash_bytes): label names and values are short,
  // and a first scrape hashes ~2 of them per label of every series.
  size_t operator()(std::string_view s) const { return core::Hash64(s); }
};

class PostingsList {
 public:
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  void Add(uint32_t id);
  // Removes the ids with dead[id] set; returns how many went.
  size_t RemoveDead(const std::vector<uint8_t>& dead);
  // The ids ascending: the list itself, or *scratch when the tail needed sorting.
  std::span<const uint32_t> Sorted(std::vector<uint32_t>* scratch) const;
  // Unordered; fine for unions.
  std::span<const uint32_t> ids() const { return ids_; }
  size_t ByteSize() const { return ids_.capacity() * sizeof(uint32_t); }

 private:
  void Compact();
  std::vector<uint32_t> ids_;
  uint32_t sorted_ = 0;  // ids_[0, sorted_) ascending; the rest in insertion order
};

class PostingsIndex {
 public:
  PostingsIndex() = default;
  PostingsIndex(const PostingsIndex&) = delete;  // recent_names_ points into names_
  PostingsIndex& operator=(const PostingsIndex&) = delete;

  using Values = std::unordered_map<std::string, PostingsList, StringHash, std::equal_to<>>;
  struct Name {
    Values values;
    size_t total = 0;  // ids over all values
  };

  void Add(const core::Labels& labels, uint32_t id);
  // Drops the ids marked in dead from the lists of these label sets, and the
  // lists and names left empty.
  void Remove(std::span<const core::Labels> labels, const std::vector<uint8_t>& dead);

  const Name* FindName(std::string_view name) const;
  const PostingsList* Find(std::string_view name, std::string_view value) const;
  std::vector<std::string> Names() const;                          // sorted
  std::vector<std::string> ValuesOf(std::string_view name) const;  // sorted
  size_t ByteSize() const;  // estimate, including hash-table nodes

 private:
  std::unordered_map<std::string, Name, StringHash, std::equal_to<>> names_;
  // The names of the last label set added, by position: consecutive series
  // (a scrape) mostly repeat them, so Add skips the names_ lookup. Entries
  // point into names_ nodes (stable); Remove clears it before erasing any.
  std::vector<std::pair<std::string_view, Name*>> recent_names_;
};

}  // namespace amas::store::internal

#endif  // AMAS_STORE_POSTINGS_H_
