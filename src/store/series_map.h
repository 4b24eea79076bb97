// series_map.h (internal): label-set hash -> series slot.
//
// Open addressing with linear probing over 8-byte buckets (a 32-bit tag of the
// hash and the slot). Equal hashes are normal here, not an error: Find() asks
// the caller whether a candidate slot really holds the labels, so colliding
// label sets simply sit in neighbouring buckets. Not thread-safe.
#ifndef AMAS_STORE_SERIES_MAP_H_
#define AMAS_STORE_SERIES_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace amas::store::internal {

class SeriesMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The slot for which is_match(slot) holds among those stored under hash, or kNone.
  template <typename IsMatch>
  uint32_t Find(uint64_t hash, IsMatch is_match) const {
    if (buckets_.empty()) return kNone;
    const uint32_t tag = Tag(hash);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Bucket& b = buckets_[i];
      if (b.slot == kNone) return kNone;
      if (b.tag == tag && is_match(b.slot)) return b.slot;
    }
  }
  // Brings the bucket where Find(hash) starts into cache. No branch: GCC 12
  // drops prefetches inside one (and a prefetch of an empty table's null
  // data never faults).
  void Prefetch(uint64_t hash) const { __builtin_prefetch(buckets_.data() + (Tag(hash) & mask_)); }
  // Adds slot under hash; the caller knows its labels are not stored yet.
  void Insert(uint64_t hash, uint32_t slot);
  // Room for n entries without growing (a batch of new series rehashes once).
  void Reserve(size_t n) {
    while (n * 4 > buckets_.size() * 3) Grow();
  }
  // Removes slot stored under hash; false if it is not there.
  bool Erase(uint64_t hash, uint32_t slot);

  size_t size() const { return size_; }
  size_t ByteSize() const { return buckets_.capacity() * sizeof(Bucket); }

 private:
  struct Bucket {
    uint32_t tag = 0;
    uint32_t slot = kNone;
  };
  static uint32_t Tag(uint64_t hash) {
    return static_cast<uint32_t>((hash * 0x9E3779B97F4A7C15ULL) >> 32);
  }
  void Grow();

  std::vector<Bucket> buckets_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace amas::store::internal

#endif  // AMAS_STORE_SERIES_MAP_H_
