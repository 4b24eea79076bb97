// Runs test/expo/testdata/*.cases: each case is an input and the entries the
// parser must report for it (format in testdata/README.md). A new case is new
// lines of data, not new C++.
#include <bit>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/value.h"
#include "expo/expo.h"
#include "testing/testing.h"

namespace {

namespace fs = std::filesystem;
using amas::expo::Entry;
using amas::expo::Format;
using amas::expo::MetricType;
using amas::expo::NameValidation;
using amas::expo::ParseOptions;

struct Case {
  std::string file;
  int line = 0;  // of "case:" in the file
  std::string name;
  Format format = Format::kPrometheusText;
  ParseOptions options;
  std::string input;
  std::vector<std::string> expect;
};

std::string Escaped(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

// Labels::ToString escapes values but prints names as they are: show the
// remaining control bytes as \xNN.
std::string Visible(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateset:
      return "stateset";
    case MetricType::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string Number(double v) {
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  if (std::isnan(v)) {
    if (bits == amas::core::kNormalNaNBits) return "NaN";
    char buf[32];
    std::snprintf(buf, sizeof buf, "NaN(%016llx)", static_cast<unsigned long long>(bits));
    return buf;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// What the parser reports, one line per entry, in the .cases notation.
std::vector<std::string> Render(const Case& c) {
  std::vector<std::string> out;
  amas::expo::Parser parser(c.input, c.format, c.options);
  amas::core::LabelsBuilder builder;
  for (int guard = 0; guard < 100000; ++guard) {
    const Entry e = parser.Next();
    switch (e) {
      case Entry::kSeries: {
        if (amas::core::Status st = parser.Labels(&builder); !st.ok()) {
          out.push_back("error " + st.message());
          return out;
        }
        std::string line =
            "series " + Visible(builder.Build().ToString()) + " " + Number(parser.value());
        if (auto ts = parser.timestamp_ms()) line += " @" + std::to_string(*ts);
        out.push_back(line);
        break;
      }
      case Entry::kHelp:
        out.push_back("help " + std::string(parser.metric_name()) + " " + Escaped(parser.help()));
        break;
      case Entry::kType:
        out.push_back("type " + std::string(parser.metric_name()) + " " + TypeName(parser.type()));
        break;
      case Entry::kUnit:
        out.push_back("unit " + std::string(parser.metric_name()) + " " +
                      std::string(parser.unit()));
        break;
      case Entry::kComment:
        out.push_back("comment");
        break;
      case Entry::kEof:
        out.push_back("eof");
        return out;
      case Entry::kError:
        out.push_back("error " + parser.error().message());
        return out;
    }
  }
  out.push_back("too many entries");
  return out;
}

std::string FromHex(std::string_view hex) {
  std::string out;
  std::istringstream in{std::string(hex)};
  std::string byte;
  while (in >> byte) out.push_back(static_cast<char>(std::stoi(byte, nullptr, 16)));
  return out;
}

std::vector<Case> Load(const fs::path& path) {
  std::ifstream in(path);
  std::vector<Case> cases;
  std::string line;
  int n = 0;
  enum { kNone, kInput, kExpect } section = kNone;
  while (std::getline(in, line)) {
    ++n;
    if (line.starts_with("case:")) {
      Case c;
      c.file = path.filename().string();
      c.line = n;
      c.name = line.substr(line.find_first_not_of(' ', 5));
      cases.push_back(std::move(c));
      section = kNone;
      continue;
    }
    if (cases.empty()) continue;
    Case& c = cases.back();
    if (line.starts_with("format:")) {
      c.format = line.find("openmetrics") != std::string::npos ? Format::kOpenMetrics
                                                               : Format::kPrometheusText;
    } else if (line.starts_with("options:")) {
      if (line.find("legacy") != std::string::npos) c.options.names = NameValidation::kLegacy;
      if (line.find("spec") != std::string::npos) c.options.openmetrics_spec = true;
      if (line.find("normalize") != std::string::npos) c.options.normalize_bucket_labels = true;
    } else if (line == "input:") {
      section = kInput;
    } else if (line == "expect:") {
      section = kExpect;
    } else if (section == kInput && line.starts_with("|")) {
      c.input += line.substr(1) + "\n";
    } else if (section == kInput && line.starts_with("\\")) {
      c.input += line.substr(1);  // the input's last line, without newline
    } else if (section == kInput && line.starts_with("x ")) {
      c.input += FromHex(line.substr(2));
    } else if (section == kExpect && line.starts_with("|")) {
      c.expect.push_back(line.substr(1));
    }
  }
  return cases;
}

// An expected "error L:C: text" matches an actual error that starts with it.
bool Matches(const std::string& want, const std::string& got) {
  if (want.starts_with("error ")) return got.starts_with(want);
  return want == got;
}

}  // namespace

TEST_CASE("parser cases from testdata/*.cases") {
  const fs::path dir = fs::path(AMAS_SOURCE_DIR) / "test/expo/testdata";
  int total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".cases") continue;
    for (const Case& c : Load(entry.path())) {
      ++total;
      const std::vector<std::string> got = Render(c);
      bool same = got.size() == c.expect.size();
      for (size_t i = 0; same && i < got.size(); ++i) same = Matches(c.expect[i], got[i]);
      INFO(c.file << ":" << c.line << ": " << c.name);
      std::string report = "want:\n";
      for (const auto& l : c.expect) report += "  |" + l + "\n";
      report += "got:\n";
      for (const auto& l : got) report += "  |" + l + "\n";
      INFO(report);
      CHECK(same);
    }
  }
  CHECK(total > 50);
}
