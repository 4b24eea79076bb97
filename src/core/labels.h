// labels.h: an immutable label set, sorted by name, hashed once.
//
// Labels own their bytes in one compact buffer (no per-label allocation), so
// a series costs one string plus 8 bytes of hash. The metric name is the label
// "__name__". Empty values mean "absent", as in Prometheus: the builder drops
// them. Equality is byte equality of the canonical encoding.
//
//   Labels l = Labels::FromPairs({{"job", "api"}, {"__name__", "up"}});
//   assert(l.Get("job") == "api" && l.Name() == "up");
//   assert(l.ToString() == "up{job=\"api\"}");
//
// Views returned by Get() and iteration borrow from the Labels and are valid
// while it lives.
#ifndef AMAS_CORE_LABELS_H_
#define AMAS_CORE_LABELS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace amas::core {

inline constexpr std::string_view kMetricName = "__name__";

// A 64-bit hash of bytes (wyhash-style mixing, 8 bytes per step). Stable
// across runs and platforms of the same endianness; not cryptographic.
uint64_t Hash64(std::string_view bytes, uint64_t seed = 0);

struct Label {
  std::string_view name;
  std::string_view value;
};

class Labels {
 public:
  class Iterator;

  Labels() = default;
  // Sorts by name; a later duplicate name wins; empty values are dropped.
  static Labels FromPairs(std::vector<std::pair<std::string, std::string>> pairs);
  static Labels FromPairs(std::initializer_list<std::pair<std::string_view, std::string_view>>);
  // The same from views, copied (valid only during the call): the fast way
  // for a parser that already has every label and no builder to fill.
  static Labels FromLabels(std::span<const Label> labels);

  // Empty view if the label is absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view Name() const { return Get(kMetricName); }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  uint64_t hash() const { return hash_; }
  // Approximate heap + inline bytes held, for memory accounting.
  size_t ByteSize() const { return sizeof(Labels) + data_.capacity(); }

  Iterator begin() const;
  Iterator end() const;

  // Prometheus notation: name{a="1", b="2"}, values escaped (\\, \", \n);
  // {} for an empty set; {a="1"} when there is no name.
  std::string ToString() const;

  friend bool operator==(const Labels& a, const Labels& b) {
    return a.hash_ == b.hash_ && a.data_ == b.data_;
  }
  // Orders like Prometheus's labels.Compare (name by name, then value).
  friend bool operator<(const Labels& a, const Labels& b);

 private:
  friend class LabelsBuilder;
  friend class LabelsEncoder;
  // Encodes items sorted by name (labels.cpp), keeping the last of equal names.
  static Labels EncodeSorted(struct LabelSortItem* items, size_t n);
  void Finish();

  // Each label: varint(name size) name varint(value size) value, sorted by name.
  std::string data_;
  uint64_t hash_ = 0;
  uint32_t count_ = 0;
};

class Labels::Iterator {
 public:
  Iterator() = default;
  Label operator*() const { return current_; }
  const Label* operator->() const { return &current_; }
  Iterator& operator++() {
    pos_ = next_;
    Decode();
    return *this;
  }
  friend bool operator==(const Iterator& a, const Iterator& b) { return a.pos_ == b.pos_; }

 private:
  friend class Labels;
  Iterator(const char* pos, const char* end) : pos_(pos), end_(end) { Decode(); }
  // Inline: label sets are walked in every hot loop (store index, matchers,
  // PromQL grouping), and names and values under 128 bytes, the usual case,
  // have one-byte lengths.
  void Decode() {
    if (pos_ == end_) return;
    const auto name_size = static_cast<unsigned char>(pos_[0]);
    if (name_size < 0x80) {
      const char* value = pos_ + 1 + name_size;
      const auto value_size = static_cast<unsigned char>(value[0]);
      if (value_size < 0x80) {
        current_ =
            Label{std::string_view(pos_ + 1, name_size), std::string_view(value + 1, value_size)};
        next_ = value + 1 + value_size;
        return;
      }
    }
    const Decoded d = DecodeLong(pos_);
    current_ = d.label;
    next_ = d.next;
  }
  // Any varint length. Static and by value: the iterator's address must not
  // escape, or the compiler keeps it in memory in every loop over labels.
  struct Decoded {
    Label label;
    const char* next;
  };
  static Decoded DecodeLong(const char* pos);
  const char* pos_ = nullptr;
  const char* next_ = nullptr;
  const char* end_ = nullptr;
  Label current_;
};

inline Labels::Iterator Labels::begin() const {
  return Iterator(data_.data(), data_.data() + data_.size());
}

inline Labels::Iterator Labels::end() const {
  const char* e = data_.data() + data_.size();
  return Iterator(e, e);
}

// Labels::FromLabels for a stream of label sets that mostly repeat the names
// of the set before, in the same order, as the lines of a scrape do: then
// the last set's sort order is used again instead of sorting. Gives exactly
// what Labels::FromLabels gives. One per thread (it remembers the last set).
class LabelsEncoder {
 public:
  Labels FromLabels(std::span<const Label> labels);

 private:
  // The last set's names with values, back to back and in the caller's
  // order, their sort keys, and where each goes in sorted order.
  std::string names_;
  std::vector<uint32_t> name_sizes_;
  std::vector<uint64_t> prefixes_;
  std::vector<uint32_t> position_;
};

// Builds a Labels by editing a copy: Set replaces, Del removes, and an empty
// value in Set means Del. Reusable: Reset() keeps its buffers' capacity, so a
// parser that resets it per line allocates nothing once warmed up. Views from
// Get() are valid until the next change to the builder.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base) { Reset(base); }

  void Reset();
  void Reset(const Labels& base);
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  std::string_view Get(std::string_view name) const;
  // Keeps only the named labels (Keep) or drops them (Drop): by/without.
  LabelsBuilder& Keep(const std::vector<std::string>& names);
  LabelsBuilder& Drop(const std::vector<std::string>& names);
  Labels Build() const;

 private:
  // A label's bytes in arena_. A replaced value is overwritten when the new
  // one fits; otherwise it stays in the arena as garbage until Reset().
  struct Entry {
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t value_offset;
    uint32_t value_size;
  };
  std::string_view NameOf(const Entry& e) const {
    return {arena_.data() + e.name_offset, e.name_size};
  }
  std::string_view ValueOf(const Entry& e) const {
    return {arena_.data() + e.value_offset, e.value_size};
  }
  // True iff bytes view the arena (Set must copy them before appending).
  bool Aliases(std::string_view bytes) const;
  uint32_t Store(std::string_view bytes);  // appends; returns the offset
  void Remove(size_t i);

  std::vector<Entry> labels_;  // unordered until Build()
  std::string arena_;
};
}  // namespace amas::core

template <>
struct std::hash<amas::core::Labels> {
  size_t operator()(const amas::core::Labels& l) const noexcept { return l.hash(); }
};

#endif  // AMAS_CORE_LABELS_H_
