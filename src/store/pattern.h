// pattern.h (internal): a label regex, fully anchored as Prometheus anchors it
// ("^(?:re)$", RE2 syntax), with fast paths for the shapes rules use most.
//
// A pattern made only of literals, "|", ".", ".*" and ".+" (e.g. "a|b|c",
// "5..", "foo.*", ".+") never calls RE2 on ASCII values without "\n"; a
// literal alternation also exposes its strings so the index can look them up
// instead of scanning values. RE2 decides everything else. Immutable; any
// thread may call Matches().
#ifndef AMAS_STORE_PATTERN_H_
#define AMAS_STORE_PATTERN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace re2 {
class RE2;
}

namespace amas::store::internal {

class Pattern {
 public:
  // InvalidArgument naming the regex when RE2 rejects it.
  static core::Result<std::shared_ptr<const Pattern>> Compile(std::string_view regex);
  ~Pattern();
  Pattern(const Pattern&) = delete;  // owns an RE2; share the pointer instead
  Pattern& operator=(const Pattern&) = delete;

  bool Matches(std::string_view value) const;
  // The exact strings it accepts, sorted and unique, when they are a finite
  // literal set ("a|b|c"); nullptr otherwise.
  const std::vector<std::string>* literals() const {
    return kind_ == Kind::kLiterals ? &literals_ : nullptr;
  }
  // True when Matches() costs an RE2 run for most values (worth memoizing).
  bool needs_re2() const { return kind_ == Kind::kRegex; }

 private:
  enum class Kind { kLiterals, kGlob, kRegex };
  Pattern() = default;
  bool MatchesRe2(std::string_view value) const;

  Kind kind_ = Kind::kRegex;
  std::vector<std::string> literals_;
  // One per alternative: a byte, or kAnyChar / kAnyRun (see pattern.cpp).
  std::vector<std::vector<int16_t>> globs_;
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace amas::store::internal

#endif  // AMAS_STORE_PATTERN_H_
