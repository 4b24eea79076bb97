// value.h: the special float values Prometheus gives meaning to.
//
// A stale marker is a NaN with one exact bit pattern (0x7ff0000000000002): it
// ends a series for instant reads. Every other NaN a target exposes must be
// stored as the normal NaN (0x7ff8000000000001) so it can never be mistaken
// for a stale marker. IsStaleNaN compares bits, never values.
#ifndef AMAS_CORE_VALUE_H_
#define AMAS_CORE_VALUE_H_

#include <bit>
#include <cmath>
#include <cstdint>

namespace amas::core {

inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline constexpr uint64_t kNormalNaNBits = 0x7ff8000000000001ULL;

inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline double NormalNaN() { return std::bit_cast<double>(kNormalNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }
// Any NaN becomes the normal NaN; other values pass through.
inline double CanonicalizeNaN(double v) { return std::isnan(v) ? NormalNaN() : v; }

}  // namespace amas::core

#endif  // AMAS_CORE_VALUE_H_
