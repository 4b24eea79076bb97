// bytes.h: equality of short byte strings (label names and values) inline.
// A memcmp call per comparison costs more than the comparison itself in the
// loops that intern and index label sets; this reads whole words and never
// reads outside either string.
#ifndef AMAS_CORE_BYTES_H_
#define AMAS_CORE_BYTES_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace amas::core {

inline uint64_t LoadU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint32_t LoadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __attribute__((always_inline)) bool SameBytes(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (LoadU64(p + i) != LoadU64(q + i)) return false;
    }
    return LoadU64(p + n - 8) == LoadU64(q + n - 8);
  }
  if (n >= 4) return LoadU32(p) == LoadU32(q) && LoadU32(p + n - 4) == LoadU32(q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

}  // namespace amas::core

#endif  // AMAS_CORE_BYTES_H_
