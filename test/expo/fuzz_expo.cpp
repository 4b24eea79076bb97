// libFuzzer target for the exposition parser (clang only):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc \
//     test/expo/fuzz_expo.cpp src/expo/*.cpp src/core/*.cpp -o /tmp/fuzz_expo
//   /tmp/fuzz_expo -max_total_time=600 CORPUS_DIR ../shared/conformance/exposition/...
// The first byte picks format and options; the rest is the body. Every path
// must end in kEof or kError with a "line:col: " message, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "expo/expo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto format =
      (mode & 1) != 0 ? amas::expo::Format::kOpenMetrics : amas::expo::Format::kPrometheusText;
  amas::expo::ParseOptions options;
  options.openmetrics_spec = (mode & 2) != 0;
  options.names =
      (mode & 4) != 0 ? amas::expo::NameValidation::kLegacy : amas::expo::NameValidation::kUtf8;
  amas::expo::Parser parser(body, format, options);
  amas::core::LabelsBuilder labels;
  for (;;) {
    const amas::expo::Entry e = parser.Next();
    if (e == amas::expo::Entry::kEof) break;
    if (e == amas::expo::Entry::kError) {
      if (parser.error().message().find(": ") == std::string::npos) std::abort();
      break;
    }
    if (e == amas::expo::Entry::kSeries) {
      (void)parser.series();
      (void)parser.value();
      (void)parser.timestamp_ms();
      if ((mode & 8) == 0 && !parser.Labels(&labels).ok()) break;
    }
  }
  (void)amas::expo::Check(body, format, options);
  return 0;
}
