#include "store/postings.h"

#include <algorithm>
#include <utility>

namespace amas::store::internal {
namespace {

// Heap bytes of a std::string beyond its inline buffer (SSO holds 15).
size_t StringHeap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

// An unordered_map node: next pointer, cached hash, the value, malloc header.
template <typename Map>
size_t NodeBytes() {
  return sizeof(void*) + sizeof(size_t) + sizeof(typename Map::value_type) + 16;
}

}  // namespace

void PostingsList::Add(uint32_t id) {
  if (sorted_ == ids_.size() && (ids_.empty() || ids_.back() < id)) {
    ids_.push_back(id);
    ++sorted_;
    return;
  }
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

void PostingsIndex::Add(const core::Labels& labels, uint32_t id) {
  size_t i = 0;
  for (core::Label l : labels) {
    Name* name;
    if (i < recent_names_.size() && recent_names_[i].first == l.name) {
      name = recent_names_[i].second;
    } else {
      auto name_it = names_.find(l.name);
      if (name_it == names_.end()) name_it = names_.emplace(std::string(l.name), Name{}).first;
      name = &name_it->second;
      const std::pair<std::string_view, Name*> entry(name_it->first, name);
      if (i < recent_names_.size()) {
        recent_names_[i] = entry;
      } else {
        recent_names_.push_back(entry);
      }
    }
    ++i;
    auto value_it = name->values.find(l.value);
    if (value_it == name->values.end()) {
      value_it = name->values.emplace(std::string(l.value), PostingsList{}).first;
    }
    value_it->second.Add(id);
    ++name->total;
  }
}

void PostingsIndex::Remove(std::span<const core::Labels> labels, const std::vector<uint8_t>& dead) {
  // Each touched list once, however many dead series share it.
  recent_names_.clear();  // names may go below
  std::vector<std::pair<std::string_view, std::string_view>> touched;
  for (const core::Labels& set : labels) {
    for (core::Label l : set) touched.emplace_back(l.name, l.value);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const auto& [name_view, value_view] : touched) {
    auto name_it = names_.find(name_view);
    if (name_it == names_.end()) continue;
    Name& name = name_it->second;
    auto value_it = name.values.find(value_view);
    if (value_it == name.values.end()) continue;
    name.total -= value_it->second.RemoveDead(dead);
    if (value_it->second.empty()) name.values.erase(value_it);
    if (name.values.empty()) names_.erase(name_it);
  }
}

const PostingsIndex::Name* PostingsIndex::FindName(std::string_view name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second;
}

const PostingsList* PostingsIndex::Find(std::string_view name, std::string_view value) const {
  const Name* n = FindName(name);
  if (n == nullptr) return nullptr;
  auto it = n->values.find(value);
  return it == n->values.end() ? nullptr : &it->second;
}

std::vector<std::string> PostingsIndex::Names() const {
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const auto& [name, entry] : names_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PostingsIndex::ValuesOf(std::string_view name) const {
  std::vector<std::string> out;
  const Name* n = FindName(name);
  if (n == nullptr) return out;
  out.reserve(n->values.size());
  for (const auto& [value, list] : n->values) out.push_back(value);
  std::sort(out.begin(), out.end());
  return out;
}

size_t PostingsIndex::ByteSize() const {
  size_t bytes = names_.bucket_count() * sizeof(void*);
  for (const auto& [name, entry] : names_) {
    bytes += NodeBytes<decltype(names_)>() + StringHeap(name);
    bytes += entry.values.bucket_count() * sizeof(void*);
    for (const auto& [value, list] : entry.values) {
      bytes += NodeBytes<Values>() + StringHeap(value) + list.ByteSize();
      if (list.ByteSize() > 0) bytes += 16;  // malloc header of the id array
    }
  }
  return bytes;
}

}  // namespace amas::store::internal
