#include "core/labels.h"

#include <algorithm>
#include <cstring>

namespace amas::core {
namespace {

constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;

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
    if (NameOf(e) == name) {
      const uint32_t offset = Store(value);
      e.value_offset = offset;
      e.value_size = static_cast<uint32_t>(value.size());
      return *this;
    }
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

char* WriteVarint(char* out, size_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

}  // namespace

Labels LabelsBuilder::Build() const {
  // Sort entry indices by name: a handful of labels, so insertion sort on a
  // stack array unless the set is unusually large.
  constexpr size_t kInline = 32;
  uint32_t inline_order[kInline];
  std::vector<uint32_t> heap_order;
  uint32_t* order = inline_order;
  const size_t n = labels_.size();
  if (n > kInline) {
    heap_order.resize(n);
    order = heap_order.data();
  }
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = labels_[i];
    bytes += VarintSize(e.name_size) + e.name_size + VarintSize(e.value_size) + e.value_size;
    const std::string_view name = NameOf(e);
    size_t j = i;
    while (j > 0 && name < NameOf(labels_[order[j - 1]])) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = static_cast<uint32_t>(i);
  }
  Labels out;
  out.data_.resize(bytes);
  char* p = out.data_.data();
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = labels_[order[i]];
    p = WriteVarint(p, e.name_size);
    std::memcpy(p, arena_.data() + e.name_offset, e.name_size);
    p += e.name_size;
    p = WriteVarint(p, e.value_size);
    std::memcpy(p, arena_.data() + e.value_offset, e.value_size);
    p += e.value_size;
  }
  out.count_ = static_cast<uint32_t>(n);
  out.Finish();
  return out;
}

}  // namespace amas::core
