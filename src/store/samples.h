// samples.h (internal): one series' samples, compressed.
//
// The buffer is a run of chunks in one heap block. A chunk is a 12-byte
// header (first timestamp, sample count, byte size), the first value raw, then
// a bit stream: timestamps as delta-of-delta, values XORed with the previous
// one (Gorilla). Chunks are cut by time span and count, and dropped whole when
// they fall out of the retention, so memory follows the window, not history.
// Not thread-safe: the Store's lock guards it.
#ifndef AMAS_STORE_SAMPLES_H_
#define AMAS_STORE_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "store/store.h"

namespace amas::store::internal {

struct ChunkPolicy {
  int64_t span_ms = 0;       // chunk boundaries every span; 0: cut by count only
  int64_t retention_ms = 0;  // on a cut, drop chunks older than newest - retention; 0: keep
};

class SampleBuffer {
 public:
  static constexpr int kMaxChunkSamples = 120;

  SampleBuffer() = default;
  SampleBuffer(SampleBuffer&& other) noexcept;
  SampleBuffer& operator=(SampleBuffer&& other) noexcept;
  SampleBuffer(const SampleBuffer&) = delete;  // owns its heap block; move it
  SampleBuffer& operator=(const SampleBuffer&) = delete;
  ~SampleBuffer();

  bool empty() const { return bits_ == 0; }
  // Newest sample; only meaningful when !empty().
  int64_t last_t() const { return last_t_; }
  double last_value() const;

  // Appends a sample newer than last_t() (the caller checks order). Returns
  // how many old samples the cut of a new chunk dropped. phase shifts this
  // series' chunk boundaries so that series do not all cut in the same round.
  size_t Append(int64_t t_ms, double value, const ChunkPolicy& policy, uint64_t phase = 0);
  // Drops every chunk whose samples are all older than cutoff_ms (all of
  // them when last_t() < cutoff_ms) and returns how many samples went.
  size_t DropBefore(int64_t cutoff_ms);
  // Appends the samples in (mint_ms, maxt_ms] to *out, oldest first.
  void Read(int64_t mint_ms, int64_t maxt_ms, std::vector<Sample>* out) const;

  size_t samples() const;  // O(chunks)
  // Hints the CPU to fetch what the next Append() touches. Integer
  // arithmetic: fine on an empty buffer (a prefetch never faults), and GCC 12
  // silently drops prefetches that sit in a branch.
  void Prefetch() const {
    const auto base = reinterpret_cast<uintptr_t>(buf_);
    __builtin_prefetch(reinterpret_cast<const void*>(base + head_));
    __builtin_prefetch(reinterpret_cast<const void*>(base + (bits_ >> 3)), 1);
  }
  size_t capacity_bytes() const { return cap_; }
  void Clear();

 private:
  void StartChunk(int64_t t_ms, uint64_t value_bits, const ChunkPolicy& policy, uint64_t phase);
  void Reserve(uint64_t bits);
  void Shrink();
  size_t used_bytes() const { return (bits_ + 7) / 8; }

  uint8_t* buf_ = nullptr;  // malloc'ed; zero past bits_ up to cap_
  uint32_t cap_ = 0;
  uint32_t bits_ = 0;  // bits in use, all chunks
  uint32_t head_ = 0;  // byte offset of the chunk being appended to
  uint8_t head_count_ = 0;
  uint8_t leading_ = 0xff;  // XOR window of the head chunk; 0xff: none yet
  uint8_t trailing_ = 0;
  int64_t last_t_ = 0;
  uint64_t last_v_ = 0;      // bits of the newest value
  uint64_t last_delta_ = 0;  // t delta of the newest two samples of the head chunk
};

}  // namespace amas::store::internal

#endif  // AMAS_STORE_SAMPLES_H_
