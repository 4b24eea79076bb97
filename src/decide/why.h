// why.h (internal): writes Decision::why lines into the caller's vector, reusing
// the strings already there, so a warmed-up Decision does not allocate per round.
#ifndef AMAS_DECIDE_WHY_H_
#define AMAS_DECIDE_WHY_H_

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

namespace amas::decide::internal {

class WhyLines {
 public:
  explicit WhyLines(std::vector<std::string>* lines) : lines_(lines) {}
  WhyLines(const WhyLines&) = delete;  // one writer per Decision
  WhyLines& operator=(const WhyLines&) = delete;

  // printf-style; a line longer than the buffer is cut, never an error.
  void Add(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buf[384];
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buf, sizeof(buf), format, args);
    va_end(args);
    if (n < 0) n = 0;
    if (static_cast<size_t>(n) >= sizeof(buf)) n = sizeof(buf) - 1;
    if (used_ < lines_->size()) {
      (*lines_)[used_].assign(buf, static_cast<size_t>(n));
    } else {
      lines_->emplace_back(buf, static_cast<size_t>(n));
    }
    ++used_;
  }

  // Drops lines left over from an earlier round.
  void Finish() { lines_->resize(used_); }

 private:
  std::vector<std::string>* lines_;
  size_t used_ = 0;
};

}  // namespace amas::decide::internal

#endif  // AMAS_DECIDE_WHY_H_
