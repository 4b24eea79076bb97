#include "store/series_map.h"

#include <utility>

namespace amas::store::internal {

void SeriesMap::Grow() {
  std::vector<Bucket> old = std::move(buckets_);
  const size_t n = old.empty() ? 64 : old.size() * 2;
  buckets_.assign(n, Bucket{});
  mask_ = n - 1;
  // Bucket positions depend on the tag alone, so no label set is rehashed.
  for (const Bucket& b : old) {
    if (b.slot == kNone) continue;
    size_t i = b.tag & mask_;
    while (buckets_[i].slot != kNone) i = (i + 1) & mask_;
    buckets_[i] = b;
  }
}

void SeriesMap::Insert(uint64_t hash, uint32_t slot) {
  // Load factor at most 3/4: probes stay short.
  if ((size_ + 1) * 4 > buckets_.size() * 3) Grow();
  const uint32_t tag = Tag(hash);
  size_t i = tag & mask_;
  while (buckets_[i].slot != kNone) i = (i + 1) & mask_;
  buckets_[i] = Bucket{tag, slot};
  ++size_;
}

bool SeriesMap::Erase(uint64_t hash, uint32_t slot) {
  if (buckets_.empty()) return false;
  const uint32_t tag = Tag(hash);
  size_t i = tag & mask_;
  while (true) {
    if (buckets_[i].slot == kNone) return false;
    if (buckets_[i].slot == slot) break;
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: pull later entries of the run into the hole
  // when their home bucket allows it, so no tombstones are needed.
  size_t hole = i;
  for (size_t j = (hole + 1) & mask_; buckets_[j].slot != kNone; j = (j + 1) & mask_) {
    const size_t home = buckets_[j].tag & mask_;
    // Movable iff home is not in the cyclic range (hole, j].
    const bool home_in_range = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (home_in_range) continue;
    buckets_[hole] = buckets_[j];
    hole = j;
  }
  buckets_[hole] = Bucket{};
  --size_;
  return true;
}

}  // namespace amas::store::internal
