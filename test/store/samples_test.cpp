// The compressed sample buffer: every sample read back bit-exact, chunk cuts,
// retention drops and range bounds (mint, maxt].
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/core.h"
#include "store/samples.h"

using amas::store::Sample;
using amas::store::internal::ChunkPolicy;
using amas::store::internal::SampleBuffer;

namespace {

std::vector<Sample> ReadAll(const SampleBuffer& b) {
  std::vector<Sample> out;
  b.Read(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &out);
  return out;
}

void CheckSame(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("sample " << i);
    CHECK(got[i].t_ms == want[i].t_ms);
    CHECK(std::bit_cast<uint64_t>(got[i].value) == std::bit_cast<uint64_t>(want[i].value));
  }
}

}  // namespace

TEST_CASE("SampleBuffer: round trip of awkward timestamps and values is bit-exact") {
  // Jittered, regular, huge jumps, negative times; values of every XOR shape.
  std::vector<Sample> want;
  std::mt19937_64 rng(7);
  int64_t t = std::numeric_limits<int64_t>::min() + 5;
  const std::vector<int64_t> steps = {1,         15000, 15000, 15003, 14990,    15000,
                                      1,         2047,  2048,  -1,    524287,   524288,
                                      1LL << 40, 15000, 15000, 15000, 1LL << 62};
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      1.0,
                                      1.0,
                                      3.349037e+06,
                                      3.349101e+06,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      amas::core::StaleNaN(),
                                      amas::core::NormalNaN(),
                                      std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::max(),
                                      1e-300,
                                      42.0};
  for (size_t i = 0; i < 400; ++i) {
    int64_t step = steps[i % steps.size()];
    if (step <= 0) step = 1;
    if (t > std::numeric_limits<int64_t>::max() - step) break;
    t += step;
    double v = (i % 3 == 0) ? std::bit_cast<double>(rng()) : values[i % values.size()];
    want.push_back({t, v});
  }
  for (int64_t span : {int64_t{0}, int64_t{60000}}) {
    SampleBuffer b;
    for (const Sample& s : want) b.Append(s.t_ms, s.value, ChunkPolicy{span, 0});
    INFO("span " << span);
    CheckSame(ReadAll(b), want);
    CHECK(b.samples() == want.size());
    CHECK(b.last_t() == want.back().t_ms);
  }
}

TEST_CASE("SampleBuffer: a stale marker keeps its exact bits") {
  SampleBuffer b;
  b.Append(1000, 1.5, {});
  b.Append(2000, amas::core::StaleNaN(), {});
  b.Append(3000, 2.5, {});
  auto got = ReadAll(b);
  REQUIRE(got.size() == 3);
  CHECK(amas::core::IsStaleNaN(got[1].value));
  CHECK_FALSE(amas::core::IsStaleNaN(amas::core::NormalNaN()));
  CHECK(std::isnan(got[1].value));
  CHECK(amas::core::IsStaleNaN(b.last_value()) == false);
}

TEST_CASE("SampleBuffer: Read returns exactly the samples after mint up to and including maxt") {
  SampleBuffer b;
  // 15 s apart from t=0 to t=600 s, chunks of 60 s.
  for (int64_t t = 0; t <= 600000; t += 15000) b.Append(t, static_cast<double>(t), {60000, 0});
  struct Case {
    int64_t mint, maxt;
    int64_t first, last;  // expected first and last t, or -1, -1 for none
  };
  const std::vector<Case> cases = {
      {-1, 0, 0, 0},             // maxt included
      {0, 15000, 15000, 15000},  // mint excluded
      {0, 14999, -1, -1},
      {59999, 60000, 60000, 60000},  // chunk boundary
      {60000, 120000, 75000, 120000},
      {100000, 100001, -1, -1},
      {599999, 10000000, 600000, 600000},
      {600000, 10000000, -1, -1},
      {-1000000, 10000000, 0, 600000},
  };
  for (const Case& c : cases) {
    INFO("(" << c.mint << ", " << c.maxt << "]");
    std::vector<Sample> out;
    b.Read(c.mint, c.maxt, &out);
    if (c.first < 0) {
      CHECK(out.empty());
      continue;
    }
    REQUIRE_FALSE(out.empty());
    CHECK(out.front().t_ms == c.first);
    CHECK(out.back().t_ms == c.last);
    CHECK(out.size() == static_cast<size_t>((c.last - c.first) / 15000 + 1));
  }
}

TEST_CASE("SampleBuffer: chunks are cut by span and count and old ones are dropped whole") {
  SECTION("by retention on append") {
    SampleBuffer b;
    const ChunkPolicy policy{150000, 600000};  // 2.5 m chunks, 10 m retention
    size_t dropped = 0;
    for (int64_t t = 0; t <= 3600000; t += 15000) dropped += b.Append(t, 1.0, policy);
    const auto got = ReadAll(b);
    // Everything from newest - retention is kept, at most one chunk more.
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().t_ms == 3600000);
    CHECK(got.front().t_ms <= 3600000 - 600000);
    CHECK(got.front().t_ms > 3600000 - 600000 - 150000);
    CHECK(got.size() + dropped == 241);
    CHECK(b.samples() == got.size());
  }
  SECTION("by count when the span is unlimited") {
    SampleBuffer b;
    for (int64_t t = 1; t <= 1000; ++t) b.Append(t, static_cast<double>(t % 7), {});
    CHECK(b.samples() == 1000);
    CHECK(b.DropBefore(500) == 480);  // four whole chunks of 120 are all below 500
    const auto got = ReadAll(b);
    CHECK(got.front().t_ms == 481);
    CHECK(got.size() == 520);
  }
  SECTION("DropBefore past the newest sample empties the buffer") {
    SampleBuffer b;
    b.Append(10, 1, {});
    b.Append(20, 2, {});
    CHECK(b.DropBefore(20) == 0);
    CHECK(b.DropBefore(21) == 2);
    CHECK(b.empty());
    CHECK(ReadAll(b).empty());
    b.Append(5, 3, {});  // usable again, and order restarts
    CheckSame(ReadAll(b), {{5, 3}});
  }
}

TEST_CASE("SampleBuffer: memory of a regular counter's window stays small") {
  // 10 m retention, 2.5 m chunks, 15 s apart: 40 to 50 samples are held.
  SampleBuffer b;
  for (int64_t i = 0; i < 200; ++i) {
    b.Append(i * 15000, 1000.0 + static_cast<double>(i * 7), {150000, 600000});
    if (i >= 50) {
      INFO("after sample " << i);
      CHECK(b.samples() >= 40);
      CHECK(b.samples() <= 51);
      CHECK(b.capacity_bytes() < 300);  // 12-byte samples would need 600
    }
  }
}
