// why.h (internal): printf-style lines into a WhyList, formatted on the stack so
// a line costs no allocation once the list's buffers have grown.
#ifndef AMAS_DECIDE_WHY_H_
#define AMAS_DECIDE_WHY_H_

#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "decide/decide.h"

namespace amas::decide::internal {

// The longest line AddWhy writes, terminator excluded.
inline constexpr size_t kWhyLineCapacity = 383;

// A line longer than the buffer is cut, never an error.
inline void AddWhy(WhyList* why, const char* format, ...) __attribute__((format(printf, 2, 3)));
inline void AddWhy(WhyList* why, const char* format, ...) {
  char buf[kWhyLineCapacity + 1];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  if (n < 0) n = 0;
  if (static_cast<size_t>(n) >= sizeof(buf)) n = sizeof(buf) - 1;
  why->push_back(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace amas::decide::internal

#endif  // AMAS_DECIDE_WHY_H_
