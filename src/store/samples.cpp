#include "store/samples.h"

#include <malloc.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>

namespace amas::store::internal {
namespace {

// Chunk header: t0 (int64), count (uint16), size in bytes (uint16), then the
// first value raw (8 bytes). Count and size are written when the chunk
// closes; until then those 4 bytes hold how long after t0 the chunk ends.
constexpr uint32_t kHeaderBytes = 12;
constexpr uint32_t kFirstBytes = kHeaderBytes + 8;
// Bytes kept readable past the last used byte, for 64-bit loads and stores.
constexpr uint32_t kSlackBytes = 8;

inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline void StoreBE64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline int64_t LoadI64(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void StoreI64(uint8_t* p, int64_t v) { std::memcpy(p, &v, 8); }
inline uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void StoreU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void StoreU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

inline int64_t SignExtend(uint64_t v, unsigned bits) {
  return static_cast<int64_t>(v << (64 - bits)) >> (64 - bits);
}

inline int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return INT64_MIN;
  return r;
}

// Appends bits MSB-first into a zeroed tail; n <= 56 per call.
inline void PutBits(uint8_t* buf, uint32_t* pos, uint64_t v, unsigned n) {
  uint8_t* p = buf + (*pos >> 3);
  const unsigned off = *pos & 7;
  StoreBE64(p, LoadBE64(p) | (v << (64 - n - off)));
  *pos += n;
}
// n in [1, 64].
inline void PutWide(uint8_t* buf, uint32_t* pos, uint64_t v, unsigned n) {
  if (n > 56) {
    PutBits(buf, pos, v >> 32, n - 32);
    PutBits(buf, pos, v & 0xffffffffULL, 32);
  } else {
    PutBits(buf, pos, v, n);
  }
}

class BitReader {
 public:
  BitReader(const uint8_t* buf, uint64_t pos) : buf_(buf), pos_(pos) {}
  // The next 57+ bits, MSB-aligned.
  uint64_t Peek() const { return LoadBE64(buf_ + (pos_ >> 3)) << (pos_ & 7); }
  void Skip(unsigned n) { pos_ += n; }
  // n in [1, 64].
  uint64_t Read(unsigned n) {
    if (n > 56) {
      const uint64_t hi = Read(n - 32);
      return (hi << 32) | Read(32);
    }
    const uint64_t v = Peek() >> (64 - n);
    pos_ += n;
    return v;
  }

 private:
  const uint8_t* buf_;
  uint64_t pos_;
};

}  // namespace

SampleBuffer::SampleBuffer(SampleBuffer&& other) noexcept { *this = std::move(other); }

SampleBuffer& SampleBuffer::operator=(SampleBuffer&& other) noexcept {
  if (this == &other) return *this;
  std::free(buf_);
  buf_ = std::exchange(other.buf_, nullptr);
  cap_ = std::exchange(other.cap_, 0);
  bits_ = std::exchange(other.bits_, 0);
  head_ = std::exchange(other.head_, 0);
  head_count_ = std::exchange(other.head_count_, 0);
  leading_ = std::exchange(other.leading_, 0xff);
  trailing_ = std::exchange(other.trailing_, 0);
  last_t_ = other.last_t_;
  last_v_ = other.last_v_;
  last_delta_ = other.last_delta_;
  return *this;
}

SampleBuffer::~SampleBuffer() { std::free(buf_); }

double SampleBuffer::last_value() const { return std::bit_cast<double>(last_v_); }

void SampleBuffer::Clear() {
  std::free(buf_);
  buf_ = nullptr;
  cap_ = bits_ = head_ = 0;
  head_count_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  last_delta_ = 0;
}

void SampleBuffer::Reserve(uint64_t bits) {
  const uint64_t need = (bits + 7) / 8 + kSlackBytes;
  if (need <= cap_) return;
  // An eighth more each time: few reallocations while a series fills its
  // window, then the size holds steady as old chunks go and new ones come.
  const uint64_t want = std::max<uint64_t>(need, uint64_t{cap_} + std::max<uint32_t>(cap_ / 8, 32));
  // Offsets are 32-bit: a series would need ~10^9 samples in memory to get here.
  if (want > UINT32_MAX) throw std::bad_alloc();
  void* p = std::realloc(buf_, want);
  if (p == nullptr) throw std::bad_alloc();
  const size_t usable = std::min<size_t>(malloc_usable_size(p), UINT32_MAX);
  buf_ = static_cast<uint8_t*>(p);
  std::memset(buf_ + used_bytes(), 0, usable - used_bytes());
  cap_ = static_cast<uint32_t>(usable);
}

void SampleBuffer::Shrink() {
  const uint32_t want = static_cast<uint32_t>(used_bytes()) + kSlackBytes;
  if (cap_ <= 2 * want + 64) return;
  const uint32_t request = want + want / 4;
  void* p = std::realloc(buf_, request);
  if (p == nullptr) return;  // keeping the larger block is fine
  buf_ = static_cast<uint8_t*>(p);
  const size_t usable = std::min<size_t>(malloc_usable_size(p), UINT32_MAX);
  // realloc may move the block and copy only what was requested.
  std::memset(buf_ + used_bytes(), 0, usable - used_bytes());
  cap_ = static_cast<uint32_t>(usable);
}

void SampleBuffer::StartChunk(int64_t t_ms, uint64_t value_bits, const ChunkPolicy& policy,
                              uint64_t phase) {
  uint32_t start = 0;
  if (bits_ > 0) {
    const auto end = static_cast<uint32_t>(used_bytes());
    const int64_t t0 = LoadI64(buf_ + head_);
    // A closed chunk tells how fast this series fills bytes: size the buffer
    // for the whole window at once instead of reallocating every few samples.
    if (policy.retention_ms > 0 && policy.span_ms > 0 && head_count_ >= 4 && last_t_ > t0) {
      const double rate =
          static_cast<double>(end - head_ - kFirstBytes) /
          static_cast<double>(static_cast<uint64_t>(last_t_) - static_cast<uint64_t>(t0));
      const double window = static_cast<double>(policy.retention_ms + policy.span_ms);
      const double chunks = window / static_cast<double>(policy.span_ms) + 1;
      const double want = rate * window + kFirstBytes * chunks + kSlackBytes;
      if (want < 65536 && want > cap_) Reserve(static_cast<uint64_t>(want) * 8);
    }
    StoreU16(buf_ + head_ + 8, head_count_);
    StoreU16(buf_ + head_ + 10, static_cast<uint16_t>(end - head_));
    start = end;
  }
  Reserve(uint64_t{start + kFirstBytes} * 8);
  StoreI64(buf_ + start, t_ms);
  // Boundaries sit at multiples of the span, shifted by the series' phase.
  uint64_t limit = UINT32_MAX;
  if (policy.span_ms > 0) {
    const auto span = static_cast<uint64_t>(policy.span_ms);
    limit = std::min<uint64_t>(span - (static_cast<uint64_t>(t_ms) + phase) % span, UINT32_MAX);
  }
  const auto limit32 = static_cast<uint32_t>(limit);
  std::memcpy(buf_ + start + 8, &limit32, 4);
  StoreU64(buf_ + start + kHeaderBytes, value_bits);
  head_ = start;
  bits_ = (start + kFirstBytes) * 8;
  head_count_ = 1;
  leading_ = 0xff;
  trailing_ = 0;
  last_t_ = t_ms;
  last_v_ = value_bits;
  last_delta_ = 0;
}

size_t SampleBuffer::Append(int64_t t_ms, double value, const ChunkPolicy& policy, uint64_t phase) {
  const auto vbits = std::bit_cast<uint64_t>(value);
  if (bits_ == 0) {
    StartChunk(t_ms, vbits, policy, phase);
    return 0;
  }
  const int64_t t0 = LoadI64(buf_ + head_);
  uint32_t limit;
  std::memcpy(&limit, buf_ + head_ + 8, 4);
  const uint64_t since_t0 = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(t0);
  if (head_count_ >= kMaxChunkSamples || since_t0 >= limit) {
    StartChunk(t_ms, vbits, policy, phase);
    if (policy.retention_ms <= 0) return 0;
    return DropBefore(SaturatingSub(t_ms, policy.retention_ms));
  }
  // Size the sample first so the buffer grows by what it needs, no more.
  const uint64_t delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(last_t_);
  const auto dod = static_cast<int64_t>(delta - last_delta_);
  const auto udod = static_cast<uint64_t>(dod);
  unsigned t_bits;
  uint64_t t_code;  // prefix and payload together, except for the raw form
  if (dod == 0) {
    t_bits = 1;
    t_code = 0;
  } else if (dod >= -64 && dod <= 63) {
    t_bits = 9;
    t_code = (0b10ULL << 7) | (udod & 0x7f);
  } else if (dod >= -2048 && dod <= 2047) {
    t_bits = 15;
    t_code = (0b110ULL << 12) | (udod & 0xfff);
  } else if (dod >= -524288 && dod <= 524287) {
    t_bits = 24;
    t_code = (0b1110ULL << 20) | (udod & 0xfffff);
  } else {
    t_bits = 4 + 64;
    t_code = 0b1111;
  }
  // Value: XOR with the previous one; reuse the last window when it fits.
  const uint64_t x = vbits ^ last_v_;
  unsigned lead = 0, trail = 0, v_bits;
  bool reuse = false;
  if (x == 0) {
    v_bits = 1;
  } else {
    lead = std::min(static_cast<unsigned>(std::countl_zero(x)), 31u);
    trail = static_cast<unsigned>(std::countr_zero(x));
    reuse = leading_ != 0xff && lead >= leading_ && trail >= trailing_;
    v_bits = reuse ? 2 + 64 - leading_ - trailing_ : 13 + 64 - lead - trail;
  }
  Reserve(uint64_t{bits_} + t_bits + v_bits);

  if (t_bits <= 24) {
    PutBits(buf_, &bits_, t_code, t_bits);
  } else {
    PutBits(buf_, &bits_, t_code, 4);
    PutWide(buf_, &bits_, udod, 64);
  }
  if (x == 0) {
    PutBits(buf_, &bits_, 0, 1);
  } else if (reuse) {
    PutBits(buf_, &bits_, 0b10, 2);
    PutWide(buf_, &bits_, x >> trailing_, 64 - leading_ - trailing_);
  } else {
    const unsigned sig = 64 - lead - trail;
    PutBits(buf_, &bits_, (0b11ULL << 11) | (uint64_t{lead} << 6) | (sig & 63), 13);
    PutWide(buf_, &bits_, x >> trail, sig);
    leading_ = static_cast<uint8_t>(lead);
    trailing_ = static_cast<uint8_t>(trail);
  }
  ++head_count_;
  last_delta_ = delta;
  last_t_ = t_ms;
  last_v_ = vbits;
  return 0;
}

size_t SampleBuffer::DropBefore(int64_t cutoff_ms) {
  if (bits_ == 0) return 0;
  if (last_t_ < cutoff_ms) {
    const size_t n = samples();
    Clear();
    return n;
  }
  uint32_t off = 0;
  size_t dropped = 0;
  while (off != head_) {
    const uint32_t next = off + LoadU16(buf_ + off + 10);
    // Every sample of this chunk is older than the next chunk's first one.
    if (LoadI64(buf_ + next) > cutoff_ms) break;
    dropped += LoadU16(buf_ + off + 8);
    off = next;
  }
  if (off == 0) return 0;
  const auto used = static_cast<uint32_t>(used_bytes());
  std::memmove(buf_, buf_ + off, used - off);
  std::memset(buf_ + used - off, 0, off);
  bits_ -= off * 8;
  head_ -= off;
  Shrink();
  return dropped;
}

size_t SampleBuffer::samples() const {
  if (bits_ == 0) return 0;
  size_t n = head_count_;
  for (uint32_t off = 0; off != head_; off += LoadU16(buf_ + off + 10)) {
    n += LoadU16(buf_ + off + 8);
  }
  return n;
}

void SampleBuffer::Read(int64_t mint_ms, int64_t maxt_ms, std::vector<Sample>* out) const {
  if (bits_ == 0 || last_t_ <= mint_ms) return;
  uint32_t off = 0;
  while (true) {
    const bool head = off == head_;
    const int64_t t0 = LoadI64(buf_ + off);
    if (t0 > maxt_ms) return;
    const uint32_t count = head ? head_count_ : LoadU16(buf_ + off + 8);
    const uint32_t next = head ? 0 : off + LoadU16(buf_ + off + 10);
    if (!head && LoadI64(buf_ + next) <= mint_ms) {
      off = next;  // the whole chunk is at or before mint
      continue;
    }

    int64_t t = t0;
    uint64_t v = LoadU64(buf_ + off + kHeaderBytes);
    if (t > mint_ms) out->push_back({t, std::bit_cast<double>(v)});
    uint64_t delta = 0;
    unsigned lead = 0, trail = 0;
    BitReader r(buf_, uint64_t{off + kFirstBytes} * 8);
    for (uint32_t i = 1; i < count; ++i) {
      uint64_t w = r.Peek();
      uint64_t dod;
      if (!(w >> 63)) {
        dod = 0;
        r.Skip(1);
      } else if (!((w >> 62) & 1)) {
        dod = static_cast<uint64_t>(SignExtend((w >> (64 - 9)) & 0x7f, 7));
        r.Skip(9);
      } else if (!((w >> 61) & 1)) {
        dod = static_cast<uint64_t>(SignExtend((w >> (64 - 15)) & 0xfff, 12));
        r.Skip(15);
      } else if (!((w >> 60) & 1)) {
        dod = static_cast<uint64_t>(SignExtend((w >> (64 - 24)) & 0xfffff, 20));
        r.Skip(24);
      } else {
        r.Skip(4);
        dod = r.Read(64);
      }
      delta += dod;
      t = static_cast<int64_t>(static_cast<uint64_t>(t) + delta);

      w = r.Peek();
      if (!(w >> 63)) {
        r.Skip(1);
      } else if (!((w >> 62) & 1)) {
        r.Skip(2);
        v ^= r.Read(64 - lead - trail) << trail;
      } else {
        lead = static_cast<unsigned>((w >> (64 - 7)) & 31);
        unsigned sig = static_cast<unsigned>((w >> (64 - 13)) & 63);
        if (sig == 0) sig = 64;
        r.Skip(13);
        trail = 64 - lead - sig;
        v ^= r.Read(sig) << trail;
      }
      if (t > maxt_ms) return;
      if (t > mint_ms) out->push_back({t, std::bit_cast<double>(v)});
    }
    if (head) return;
    off = next;
  }
}

}  // namespace amas::store::internal
