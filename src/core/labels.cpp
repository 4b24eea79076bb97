#include "core/labels.h"

#include <algorithm>
#include <cstring>

#include "core/bytes.h"

namespace amas::core {
namespace {

constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

inline uint64_t Mix(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t LoadTail(const char* p, size_t n) {  // 1..7 bytes
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

const char* GetVarint(const char* p, size_t* v) {
  size_t result = 0;
  int shift = 0;
  while (true) {
    const auto byte = static_cast<unsigned char>(*p++);
    result |= static_cast<size_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
    shift += 7;
  }
  *v = result;
  return p;
}

void AppendEscaped(std::string* out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

}  // namespace

uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t h = seed ^ kP0 ^ (static_cast<uint64_t>(n) * kP2);
  if (n > 48) {
    // Three independent lanes, as in wyhash: 48 bytes cost one multiply's
    // latency instead of three in a row (series lines are ~170 bytes).
    uint64_t h1 = h, h2 = h;
    do {
      h = Mix(Load64(p) ^ kP1, Load64(p + 8) ^ h);
      h1 = Mix(Load64(p + 16) ^ kP2, Load64(p + 24) ^ h1);
      h2 = Mix(Load64(p + 32) ^ kP3, Load64(p + 40) ^ h2);
      p += 48;
      n -= 48;
    } while (n > 48);
    h ^= h1 ^ h2;
  }
  while (n >= 16) {
    h = Mix(Load64(p) ^ kP1, Load64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = Mix(Load64(p) ^ kP1, h ^ kP2);
    p += 8;
    n -= 8;
  }
  if (n > 0) h = Mix(LoadTail(p, n) ^ kP2, h ^ kP1);
  return Mix(h ^ kP0, static_cast<uint64_t>(bytes.size()) ^ kP1);
}

Labels Labels::FromPairs(std::vector<std::pair<std::string, std::string>> pairs) {
  LabelsBuilder b;
  for (auto& [name, value] : pairs) b.Set(name, value);
  return b.Build();
}

Labels Labels::FromPairs(
    std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  LabelsBuilder b;
  for (const auto& [name, value] : pairs) b.Set(name, value);
  return b.Build();
}

void Labels::Finish() { hash_ = Hash64(data_); }

std::string_view Labels::Get(std::string_view name) const {
  for (Label l : *this) {
    if (l.name == name) return l.value;
  }
  return {};
}

bool Labels::Has(std::string_view name) const {
  for (Label l : *this) {
    if (l.name == name) return true;
  }
  return false;
}

Labels::Iterator::Decoded Labels::Iterator::DecodeLong(const char* pos) {
  Decoded d;
  size_t n;
  const char* p = GetVarint(pos, &n);
  d.label.name = std::string_view(p, n);
  p += n;
  p = GetVarint(p, &n);
  d.label.value = std::string_view(p, n);
  d.next = p + n;
  return d;
}

std::string Labels::ToString() const {
  std::string out;
  const std::string_view name = Name();
  out.append(name);
  out.push_back('{');
  bool first = true;
  for (Label l : *this) {
    if (l.name == kMetricName && !name.empty()) continue;
    if (!first) out.append(", ");
    first = false;
    out.append(l.name).append("=\"");
    AppendEscaped(&out, l.value);
    out.push_back('"');
  }
  if (first && !name.empty()) {
    out.pop_back();  // a bare name prints without braces
    return out;
  }
  out.push_back('}');
  return out;
}

bool operator<(const Labels& a, const Labels& b) {
  auto ia = a.begin(), ib = b.begin();
  const auto ea = a.end(), eb = b.end();
  for (; ia != ea && ib != eb; ++ia, ++ib) {
    if (ia->name != ib->name) return ia->name < ib->name;
    if (ia->value != ib->value) return ia->value < ib->value;
  }
  return ia == ea && ib != eb;
}

void LabelsBuilder::Reset() {
  labels_.clear();
  arena_.clear();
}

void LabelsBuilder::Reset(const Labels& base) {
  Reset();
  arena_.reserve(base.data_.size());
  for (Label l : base) {
    const uint32_t name = Store(l.name);
    const uint32_t value = Store(l.value);
    labels_.push_back(
        {name, static_cast<uint32_t>(l.name.size()), value, static_cast<uint32_t>(l.value.size())});
  }
}

bool LabelsBuilder::Aliases(std::string_view bytes) const {
  return !bytes.empty() && bytes.data() >= arena_.data() &&
         bytes.data() < arena_.data() + arena_.size();
}

uint32_t LabelsBuilder::Store(std::string_view bytes) {
  const auto offset = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return offset;
}

void LabelsBuilder::Remove(size_t i) {
  // Order does not matter until Build() sorts.
  labels_[i] = labels_.back();
  labels_.pop_back();
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  if (Aliases(name) || Aliases(value)) {
    // Set(a, Get(b)): appending to the arena may move the bytes viewed.
    const std::string name_copy(name), value_copy(value);
    return Set(name_copy, value_copy);
  }
  for (Entry& e : labels_) {
    if (NameOf(e) != name) continue;
    // Replacing in place when it fits, or at the arena's end, keeps a builder
    // that sets one label again and again (a loop over series) from growing.
    if (value.size() > e.value_size) {
      if (e.value_offset + e.value_size == arena_.size()) {
        arena_.resize(e.value_offset);
        arena_.append(value);
      } else {
        e.value_offset = Store(value);
      }
    } else {
      std::memcpy(arena_.data() + e.value_offset, value.data(), value.size());
    }
    e.value_size = static_cast<uint32_t>(value.size());
    return *this;
  }
  const uint32_t name_offset = Store(name);
  const uint32_t value_offset = Store(value);
  labels_.push_back({name_offset, static_cast<uint32_t>(name.size()), value_offset,
                     static_cast<uint32_t>(value.size())});
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (NameOf(labels_[i]) == name) {
      Remove(i);
      break;
    }
  }
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (const Entry& e : labels_) {
    if (NameOf(e) == name) return ValueOf(e);
  }
  return {};
}

LabelsBuilder& LabelsBuilder::Keep(const std::vector<std::string>& names) {
  for (size_t i = labels_.size(); i-- > 0;) {
    if (std::find(names.begin(), names.end(), NameOf(labels_[i])) == names.end()) Remove(i);
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::Drop(const std::vector<std::string>& names) {
  for (size_t i = labels_.size(); i-- > 0;) {
    if (std::find(names.begin(), names.end(), NameOf(labels_[i])) != names.end()) Remove(i);
  }
  return *this;
}

namespace {

size_t VarintSize(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// memcpy inline for the short strings labels are made of (a call per name
// and value cost more than the copy); never touches bytes outside either range.
inline char* CopyShort(char* out, const char* from, size_t n) {
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) std::memcpy(out + i, from + i, 8);
    std::memcpy(out + n - 8, from + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(out, from, 4);
    std::memcpy(out + n - 4, from + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = from[i];
  }
  return out + n;
}

char* WriteVarint(char* out, size_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

}  // namespace

namespace {

// The first 8 bytes of a name as a big-endian number (zero-padded): ordering
// by it agrees with byte order of the names, so most comparisons while
// sorting are one integer compare; equal keys fall back to the bytes.
uint64_t NamePrefix(std::string_view name) {
  const char* p = name.data();
  const size_t n = name.size();
  if (n >= 8) return __builtin_bswap64(Load64(p));
  // Whole loads of the bytes there are, no loop and no short copy into a
  // word (reading that back would stall on store forwarding).
  if (n >= 4) {
    uint32_t first, last;  // overlapping when n < 8: the same bytes twice
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + n - 4, 4);
    return (uint64_t{__builtin_bswap32(first)} << 32) |
           (uint64_t{__builtin_bswap32(last)} << (8 * (8 - n)));
  }
  if (n == 0) return 0;
  const auto byte = [p](size_t i) { return uint64_t{static_cast<unsigned char>(p[i])}; };
  return (byte(0) << 56) | (byte(n / 2) << (56 - 8 * (n / 2))) |
         (byte(n - 1) << (56 - 8 * (n - 1)));
}

}  // namespace

// Trivial, so arrays of them on the stack cost no initialisation.
struct LabelSortItem {
  uint64_t prefix;
  const char* name;
  const char* value;
  uint32_t name_size;
  uint32_t value_size;
  std::string_view Name() const { return {name, name_size}; }
};

namespace {

using SortItem = LabelSortItem;

// Sorts items[0, n) by name (stable: of equal names the later one ends up
// last), drops all but the last of equal names, and encodes the result.
// A handful of labels: insertion sort beats anything cleverer.
template <typename Items>
void SortByName(Items* items, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    const SortItem item = (*items)[i];
    size_t j = i;
    while (j > 0 &&
           (item.prefix < (*items)[j - 1].prefix ||
            (item.prefix == (*items)[j - 1].prefix && item.Name() < (*items)[j - 1].Name()))) {
      (*items)[j] = (*items)[j - 1];
      --j;
    }
    (*items)[j] = item;
  }
}

}  // namespace

Labels Labels::EncodeSorted(LabelSortItem* items, size_t n) {
  size_t bytes = 0, kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n && items[i].prefix == items[i + 1].prefix &&
        items[i].Name() == items[i + 1].Name()) {
      items[i].value_size = 0;  // a later label of the same name replaces it
      continue;
    }
    bytes += VarintSize(items[i].name_size) + items[i].name_size + VarintSize(items[i].value_size) +
             items[i].value_size;
    ++kept;
  }
  Labels out;
  out.data_.resize(bytes);
  char* p = out.data_.data();
  for (size_t i = 0; i < n; ++i) {
    const SortItem& l = items[i];
    if (l.value_size == 0) continue;
    p = WriteVarint(p, l.name_size);
    p = CopyShort(p, l.name, l.name_size);
    p = WriteVarint(p, l.value_size);
    p = CopyShort(p, l.value, l.value_size);
  }
  out.count_ = static_cast<uint32_t>(kept);
  out.Finish();
  return out;
}

namespace {

constexpr size_t kInlineLabels = 32;

// Stack room for a usual label set, the heap for a huge one.
class SortItems {
 public:
  explicit SortItems(size_t n) {
    if (n > kInlineLabels) heap_.resize(n);
  }
  SortItem* data() { return heap_.empty() ? inline_ : heap_.data(); }
  SortItem& operator[](size_t i) { return data()[i]; }

 private:
  SortItem inline_[kInlineLabels];
  std::vector<SortItem> heap_;
};

}  // namespace

Labels Labels::FromLabels(std::span<const Label> labels) {
  SortItems items(labels.size());
  SortItem* it = items.data();
  size_t n = 0;
  for (const Label& l : labels) {
    if (l.value.empty()) continue;  // absent, as in Prometheus
    it[n++] = SortItem{NamePrefix(l.name), l.name.data(), l.value.data(),
                       static_cast<uint32_t>(l.name.size()), static_cast<uint32_t>(l.value.size())};
  }
  SortByName(&it, n);
  return EncodeSorted(it, n);
}

Labels LabelsEncoder::FromLabels(std::span<const Label> labels) {
  SortItems sorted(labels.size());
  SortItem* out = sorted.data();
  // The usual case: the last set's names again, each item goes straight to
  // its sorted place.
  size_t n = 0;
  size_t at = 0;  // in names_
  bool same_names = true;
  for (const Label& l : labels) {
    if (l.value.empty()) continue;  // absent, as in Prometheus
    if (n >= name_sizes_.size() || name_sizes_[n] != l.name.size() ||
        !SameBytes(std::string_view(names_.data() + at, l.name.size()), l.name)) {
      same_names = false;
      break;
    }
    at += l.name.size();
    out[position_[n]] =
        SortItem{prefixes_[n], l.name.data(), l.value.data(), static_cast<uint32_t>(l.name.size()),
                 static_cast<uint32_t>(l.value.size())};
    ++n;
  }
  if (same_names && n == name_sizes_.size()) return Labels::EncodeSorted(out, n);

  // New names: learn them, their keys and the order that sorts them (stable,
  // like SortByName: equal names keep the caller's order).
  n = 0;
  names_.clear();
  name_sizes_.clear();
  prefixes_.clear();
  for (const Label& l : labels) {
    if (l.value.empty()) continue;
    out[n++] =
        SortItem{NamePrefix(l.name), l.name.data(), l.value.data(),
                 static_cast<uint32_t>(l.name.size()), static_cast<uint32_t>(l.value.size())};
    names_.append(l.name);
    name_sizes_.push_back(static_cast<uint32_t>(l.name.size()));
    prefixes_.push_back(out[n - 1].prefix);
  }
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  auto less = [out](uint32_t a, uint32_t b) {
    return out[a].prefix < out[b].prefix ||
           (out[a].prefix == out[b].prefix && out[a].Name() < out[b].Name());
  };
  for (size_t i = 1; i < n; ++i) {
    const uint32_t item = order[i];
    size_t j = i;
    for (; j > 0 && less(item, order[j - 1]); --j) order[j] = order[j - 1];
    order[j] = item;
  }
  position_.resize(n);
  for (size_t k = 0; k < n; ++k) position_[order[k]] = static_cast<uint32_t>(k);
  SortItems in_order(n);
  SortItem* items = in_order.data();
  for (size_t k = 0; k < n; ++k) items[k] = out[order[k]];
  return Labels::EncodeSorted(items, n);
}

Labels LabelsBuilder::Build() const {
  SortItems items(labels_.size());
  SortItem* it = items.data();
  const size_t n = labels_.size();
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = labels_[i];
    it[i] = SortItem{NamePrefix(NameOf(e)), arena_.data() + e.name_offset,
                     arena_.data() + e.value_offset, e.name_size, e.value_size};
  }
  SortByName(&it, n);
  return Labels::EncodeSorted(it, n);
}

}  // namespace amas::core
