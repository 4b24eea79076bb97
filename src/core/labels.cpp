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

void PutVarint(std::string* out, size_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
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
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
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

Labels::Iterator Labels::begin() const {
  return Iterator(data_.data(), data_.data() + data_.size());
}

Labels::Iterator Labels::end() const {
  const char* e = data_.data() + data_.size();
  return Iterator(e, e);
}

Labels::Iterator::Iterator(const char* pos, const char* end) : pos_(pos), end_(end) { Decode(); }

void Labels::Iterator::Decode() {
  if (pos_ == end_) return;
  size_t n;
  const char* p = GetVarint(pos_, &n);
  current_.name = std::string_view(p, n);
  p += n;
  p = GetVarint(p, &n);
  current_.value = std::string_view(p, n);
  next_ = p + n;
}

Labels::Iterator& Labels::Iterator::operator++() {
  pos_ = next_;
  Decode();
  return *this;
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

void LabelsBuilder::Reset() { size_ = 0; }

void LabelsBuilder::Reset(const Labels& base) {
  size_ = 0;
  for (Label l : base) {
    if (size_ == labels_.size()) labels_.emplace_back();
    labels_[size_].first.assign(l.name);
    labels_[size_].second.assign(l.value);
    ++size_;
  }
}

void LabelsBuilder::Remove(size_t i) {
  // Order does not matter until Build() sorts; swapping keeps both strings' capacity.
  std::swap(labels_[i], labels_[size_ - 1]);
  --size_;
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  for (size_t i = 0; i < size_; ++i) {
    if (labels_[i].first == name) {
      labels_[i].second.assign(value);
      return *this;
    }
  }
  if (size_ == labels_.size()) labels_.emplace_back();
  labels_[size_].first.assign(name);
  labels_[size_].second.assign(value);
  ++size_;
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  for (size_t i = 0; i < size_; ++i) {
    if (labels_[i].first == name) {
      Remove(i);
      break;
    }
  }
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    if (labels_[i].first == name) return labels_[i].second;
  }
  return {};
}

LabelsBuilder& LabelsBuilder::Keep(const std::vector<std::string>& names) {
  for (size_t i = size_; i-- > 0;) {
    if (std::find(names.begin(), names.end(), labels_[i].first) == names.end()) Remove(i);
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::Drop(const std::vector<std::string>& names) {
  for (size_t i = size_; i-- > 0;) {
    if (std::find(names.begin(), names.end(), labels_[i].first) != names.end()) Remove(i);
  }
  return *this;
}

Labels LabelsBuilder::Build() const {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(size_);
  size_t bytes = 0;
  for (size_t i = 0; i < size_; ++i) {
    sorted.push_back(&labels_[i]);
    bytes += labels_[i].first.size() + labels_[i].second.size() + 2;
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  Labels out;
  out.data_.reserve(bytes);
  for (const auto* l : sorted) {
    PutVarint(&out.data_, l->first.size());
    out.data_.append(l->first);
    PutVarint(&out.data_, l->second.size());
    out.data_.append(l->second);
  }
  out.count_ = static_cast<uint32_t>(sorted.size());
  out.Finish();
  return out;
}

}  // namespace amas::core
