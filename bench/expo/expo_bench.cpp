// expo_bench FILE [ROUNDS [MODES]]: parse throughput of a text 0.0.4 exposition, as
// the scraper uses the parser. Prints MB/s (1 MB = 10^6 bytes), best of ROUNDS:
//   (a) Next + series + value + timestamp_ms on every line (a steady scrape:
//       every series known, labels skipped)
//   (b) Next + Labels on every line (a first scrape)
//   (c) as (b) plus LabelsBuilder::Build (what creating every series costs)
//   (d) Check (every label validated, families counted)
// Times are CPU time of the parsing thread (1 MB = 10^6 bytes).
// Generate the input with: python3 /work/shared/bench/gen_exposition.py -o /tmp/expo-bench.txt
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "expo/expo.h"

namespace {

using amas::expo::Entry;
using amas::expo::Format;
using amas::expo::Parser;

// CPU time of this thread: the machine is shared, and wall time would
// mostly measure the neighbours.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Time {
  double cpu;
  double wall;
};

Time Measure(const std::function<void()>& f) {
  const double cpu = CpuSeconds();
  const auto wall = std::chrono::steady_clock::now();
  f();
  return {CpuSeconds() - cpu,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [ROUNDS]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string modes = argc > 3 ? argv[3] : "abcd";  // e.g. "a" to profile one
  const double mb = static_cast<double>(body.size()) / 1e6;

  size_t series = 0;
  double sink = 0;
  auto steady = [&] {
    Parser p(body, Format::kPrometheusText);
    series = 0;
    for (Entry e; (e = p.Next()) != Entry::kEof;) {
      if (e == Entry::kError) {
        std::fprintf(stderr, "parse error: %s\n", p.error().message().c_str());
        std::exit(1);
      }
      if (e != Entry::kSeries) continue;
      ++series;
      sink += static_cast<double>(p.series().size()) + p.value() + (p.timestamp_ms() ? 1 : 0);
    }
  };
  amas::core::LabelsBuilder builder;
  auto first = [&](bool build) {
    Parser p(body, Format::kPrometheusText);
    for (Entry e; (e = p.Next()) != Entry::kEof;) {
      if (e == Entry::kError) std::exit(1);
      if (e != Entry::kSeries) continue;
      if (!p.Labels(&builder).ok()) {
        std::fprintf(stderr, "labels: %s\n", p.error().message().c_str());
        std::exit(1);
      }
      sink += p.value();
      if (build) sink += static_cast<double>(builder.Build().hash() & 1);
    }
  };
  size_t families = 0;
  auto check = [&] {
    auto r = amas::expo::Check(body, Format::kPrometheusText);
    if (!r.ok()) {
      std::fprintf(stderr, "check: %s\n", r.status().message().c_str());
      std::exit(1);
    }
    families = r->families;
  };

  const char* names[4] = {"(a) Next+series+value         ", "(b) Next+Labels every line    ",
                          "(c) (b) + LabelsBuilder::Build", "(d) Check                     "};
  const std::function<void()> runs[4] = {steady, [&] { first(false); }, [&] { first(true); },
                                         check};
  Time best[4];
  for (Time& b : best) b = {1e9, 1e9};
  for (int i = 0; i < rounds; ++i) {
    for (int m = 0; m < 4; ++m) {
      if (modes.find(static_cast<char>('a' + m)) == std::string::npos) continue;
      const Time t = Measure(runs[m]);
      best[m].cpu = std::min(best[m].cpu, t.cpu);
      best[m].wall = std::min(best[m].wall, t.wall);
    }
  }
  std::printf("input: %s, %.2f MB, %zu series, %zu families; best of %d rounds\n", argv[1], mb,
              series, families, rounds);
  std::printf("%-30s  %14s  %14s\n", "", "CPU time", "wall time");
  for (int m = 0; m < 4; ++m) {
    if (modes.find(static_cast<char>('a' + m)) == std::string::npos) continue;
    std::printf("%s  %6.0f MB/s %5.1fms  %6.0f MB/s %5.1fms\n", names[m], mb / best[m].cpu,
                best[m].cpu * 1e3, mb / best[m].wall, best[m].wall * 1e3);
  }
  return sink == 42.4242 ? 1 : 0;  // keeps the work observable
}
