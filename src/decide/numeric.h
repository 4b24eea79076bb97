// numeric.h (internal): the float64 -> integer conversions the controller relies on,
// made total. Go's int32(x) of an out-of-range float is undefined in spirit and
// wraps in practice; these saturate instead, which only differs for inputs no
// valid HPA can produce (counts beyond int32). NaN converts to 0.
#ifndef AMAS_DECIDE_NUMERIC_H_
#define AMAS_DECIDE_NUMERIC_H_

#include <cmath>
#include <cstdint>
#include <limits>

namespace amas::decide::internal {

inline constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();
inline constexpr int32_t kMinInt32 = std::numeric_limits<int32_t>::min();
inline constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMinInt64 = std::numeric_limits<int64_t>::min();

// int32(x): truncation toward zero, saturating.
inline int32_t TruncToInt32(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 2147483647.0) return kMaxInt32;
  if (x <= -2147483648.0) return kMinInt32;
  return static_cast<int32_t>(x);
}

// int32(math.Ceil(x)), saturating.
inline int32_t CeilToInt32(double x) { return TruncToInt32(std::ceil(x)); }

// int64(x), saturating (2^63 itself is out of range).
inline int64_t TruncToInt64(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9223372036854775808.0) return kMaxInt64;
  if (x < -9223372036854775808.0) return kMinInt64;
  return static_cast<int64_t>(x);
}

inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxInt64 : kMinInt64;
  return out;
}

inline int64_t SaturatingMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return (a < 0) != (b < 0) ? kMinInt64 : kMaxInt64;
  return out;
}

// int32(v) for an int64 that the controller keeps in int32, saturating.
inline int32_t ClampToInt32(int64_t v) {
  if (v > kMaxInt32) return kMaxInt32;
  if (v < kMinInt32) return kMinInt32;
  return static_cast<int32_t>(v);
}

}  // namespace amas::decide::internal

#endif  // AMAS_DECIDE_NUMERIC_H_
