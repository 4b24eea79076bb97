// The parts of the expo contract the .cases files cannot show: content
// types, number round-trips, series() bytes, the error protocol, Check().
#include <bit>
#include <charconv>
#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/value.h"
#include "expo/expo.h"
#include "expo/number.h"

using amas::expo::Check;
using amas::expo::Entry;
using amas::expo::Format;
using amas::expo::FormatFromContentType;
using amas::expo::ParseOptions;
using amas::expo::Parser;

TEST_CASE("FormatFromContentType") {
  struct Row {
    const char* header;
    bool ok;
    Format format;
  };
  const Row rows[] = {
      {"text/plain; version=0.0.4", true, Format::kPrometheusText},
      {"text/plain;version=0.0.4;charset=utf-8", true, Format::kPrometheusText},
      {"text/plain", true, Format::kPrometheusText},
      {"TEXT/PLAIN; charset=utf-8", true, Format::kPrometheusText},
      {"application/openmetrics-text; version=1.0.0; charset=utf-8", true, Format::kOpenMetrics},
      {"application/openmetrics-text", true, Format::kOpenMetrics},
      {"application/openmetrics-text; version=\"1.0.0\"", true, Format::kOpenMetrics},
      {"", false, Format::kPrometheusText},
      {"text/html", false, Format::kPrometheusText},
      {"text/plain; version=1.0.0", false, Format::kPrometheusText},
      {"application/openmetrics-text; version=0.0.1", false, Format::kPrometheusText},
      {"application/vnd.google.protobuf", false, Format::kPrometheusText},
  };
  for (const Row& r : rows) {
    INFO(r.header);
    const auto got = FormatFromContentType(r.header);
    REQUIRE(got.ok() == r.ok);
    if (r.ok) {
      CHECK(*got == r.format);
    } else {
      CHECK(got.status().IsInvalidArgument());
      CHECK(got.status().message().find(r.header) != std::string::npos);
    }
  }
}

TEST_CASE("canonical le/quantile rendering matches Go's FormatOpenMetricsFloat") {
  // Values from the OpenMetrics spec's "Canonical Numbers" and Prometheus tests.
  const std::pair<double, const char*> rows[] = {
      {0, "0.0"},
      {-0.0, "0.0"},
      {1, "1.0"},
      {-1, "-1.0"},
      {0.001, "0.001"},
      {0.002, "0.002"},
      {0.01, "0.01"},
      {0.1, "0.1"},
      {0.9, "0.9"},
      {0.95, "0.95"},
      {0.99, "0.99"},
      {0.999, "0.999"},
      {1.7, "1.7"},
      {10, "10.0"},
      {1e-10, "1e-10"},
      {1e-9, "1e-09"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {100000, "100000.0"},
      {1e6, "1e+06"},
      {1e10, "1e+10"},
      {123456, "123456.0"},
      {1234567, "1.234567e+06"},
      {0.00011, "0.00011"},
      {1.1e-5, "1.1e-05"},
      {1e23, "1e+23"},
      {1.1e23, "1.1e+23"},
      {1e100, "1e+100"},
      {-2.5, "-2.5"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const auto& [v, want] : rows) {
    char buf[amas::expo::internal::kCanonicalMax];
    CHECK(amas::expo::internal::FormatCanonical(v, buf) == want);
  }
}

TEST_CASE("every double survives FormatCanonical then ParseFloat") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const double v = std::bit_cast<double>(rng());
    if (std::isnan(v)) continue;
    char buf[amas::expo::internal::kCanonicalMax];
    const std::string_view s = amas::expo::internal::FormatCanonical(v, buf);
    double back = 0;
    INFO(s);
    REQUIRE(amas::expo::internal::ParseFloat(s, &back));
    CHECK(std::bit_cast<uint64_t>(back) == std::bit_cast<uint64_t>(v == 0 ? 0.0 : v));
  }
}

TEST_CASE("ParseFloat agrees with from_chars on decimal strings") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    char buf[64];
    const double v = std::bit_cast<double>(rng() & 0x7fefffffffffffffULL);  // finite
    const int precision = 1 + static_cast<int>(rng() % 20);
    const int n = std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    double want = 0, got = 0;
    INFO(buf);
    if (std::from_chars(buf, buf + n, want).ec == std::errc::result_out_of_range) {
      CHECK_FALSE(amas::expo::internal::ParseFloat(std::string_view(buf, n), &got));  // as Go
      continue;
    }
    REQUIRE(amas::expo::internal::ParseFloat(std::string_view(buf, n), &got));
    CHECK(std::bit_cast<uint64_t>(got) == std::bit_cast<uint64_t>(want));
  }
}

TEST_CASE("series() is the raw bytes through the label block") {
  const std::string body =
      "  a{x=\"1\"} 1\n"
      "b 2 3\n"
      "c {y=\"}\"}\t4\n"
      "{\"d.e\",z=\"1\"} 5\n";
  Parser p(body, Format::kPrometheusText);
  std::vector<std::string> keys;
  for (Entry e; (e = p.Next()) != Entry::kEof;) {
    REQUIRE(e == Entry::kSeries);
    keys.emplace_back(p.series());
  }
  CHECK(keys == std::vector<std::string>{"a{x=\"1\"}", "b", "c {y=\"}\"}", "{\"d.e\",z=\"1\"}"});
}

TEST_CASE("values: NaNs are canonical, never the stale marker") {
  Parser p("a NaN\nb nan\n", Format::kPrometheusText);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(p.Next() == Entry::kSeries);
    CHECK(std::bit_cast<uint64_t>(p.value()) == amas::core::kNormalNaNBits);
    CHECK_FALSE(amas::core::IsStaleNaN(p.value()));
  }
  CHECK(p.Next() == Entry::kEof);
}

TEST_CASE("errors are sticky and Labels() needs a series") {
  Parser p("a 1\nb{ 2\nc 3\n", Format::kPrometheusText);
  amas::core::LabelsBuilder b;
  CHECK(p.Labels(&b).code() == amas::core::Status::Code::kFailedPrecondition);
  REQUIRE(p.Next() == Entry::kSeries);
  CHECK(p.line() == 1);
  REQUIRE(p.Next() == Entry::kError);
  CHECK(p.error().IsInvalidArgument());
  CHECK(p.error().message().starts_with("2:"));
  CHECK(p.Next() == Entry::kError);
  CHECK(p.Next() == Entry::kError);
  CHECK(p.Labels(&b).message() == p.error().message());
}

TEST_CASE("Labels() may be called again for the same series") {
  amas::expo::ParseOptions normalize;
  normalize.normalize_bucket_labels = true;  // the rendered le must be stable too
  Parser p("# TYPE h histogram\nh_bucket{le=\"1\",a=\"x\\ny\"} 1\n", Format::kPrometheusText,
           normalize);
  REQUIRE(p.Next() == Entry::kType);
  REQUIRE(p.Next() == Entry::kSeries);
  amas::core::LabelsBuilder first, second;
  REQUIRE(p.Labels(&first).ok());
  REQUIRE(p.Labels(&second).ok());
  CHECK(first.Build() == second.Build());
  CHECK(second.Build().ToString() == "h_bucket{a=\"x\\ny\", le=\"1.0\"}");
  CHECK(p.Next() == Entry::kEof);
}

TEST_CASE("LabelViews() gives Labels()'s labels as views, without copies") {
  const std::string body =
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\",a=\"x\\ny\",e=\"\"} 1\n"
      "h_bucket{a=\"plain\",le=\"+Inf\"} 2\n"
      "h_count 2\n"
      "{\"u.t.f\",b=\"c\"} 3\n";
  Parser p(body, Format::kPrometheusText);
  std::vector<amas::core::Label> views;
  int series = 0;
  for (Entry e; (e = p.Next()) != Entry::kEof;) {
    REQUIRE(e != Entry::kError);
    if (e != Entry::kSeries) continue;
    ++series;
    amas::core::LabelsBuilder b;
    REQUIRE(p.Labels(&b).ok());
    views.assign(1, amas::core::Label{"kept", "x"});  // appended to, not cleared
    REQUIRE(p.LabelViews(&views).ok());
    CHECK(views[0].name == "kept");
    CHECK(views[1].name == "__name__");
    CHECK(amas::core::Labels::FromLabels(std::span(views).subspan(1)) == b.Build());
    for (const amas::core::Label& l : views) {
      // Undecoded values point into the body itself.
      if (l.value == "plain")
        CHECK((l.value.data() >= body.data() && l.value.data() < body.data() + body.size()));
    }
  }
  CHECK(series == 4);
  views.clear();
  CHECK_FALSE(p.LabelViews(&views).ok());  // not on a series
}

namespace {

// The labels (or the error, with its column) one line gives in a parser of
// its own, where no earlier line can be reused.
std::string AloneResult(const std::string& line, Format format) {
  const std::string body = line + "\n";  // the parser views it
  Parser p(body, format);
  for (Entry e; (e = p.Next()) != Entry::kEof;) {
    if (e == Entry::kError) return "error " + p.error().message();
    if (e != Entry::kSeries) continue;
    std::vector<amas::core::Label> views;
    const amas::core::Status st = p.LabelViews(&views);
    if (!st.ok()) return "error " + st.message();
    return amas::core::Labels::FromLabels(views).ToString();
  }
  return "none";
}

}  // namespace

TEST_CASE("lines that repeat the last block's labels decode as they would alone") {
  // Each line shares a prefix of its label block with the one before: the
  // parser keeps those labels and decodes the rest. Escapes, quoted names,
  // blanks, duplicates of a kept label and errors after a kept prefix give
  // what the same line gives alone (errors at the same column).
  const std::vector<std::string> text_lines = {
      "m{a=\"1\",b=\"2\",c=\"3\"} 1",
      "m{a=\"1\",b=\"2\",c=\"4\"} 1",
      "m{a=\"1\",b=\"2\"} 1",
      "m{a=\"1\",b=\"2\",c=\"3\",d=\"x\"} 1",
      "m{a=\"1\",b=\"22\",c=\"3\"} 1",
      "m{a=\"1\",b=\"2\",b=\"5\"} 1",  // a kept label repeated: an error
      "m{a=\"1\",b=\"2\",c=\"3\"} 1",
      "m{a=\"1\",b=\"2\",c=\"x\\\"y\"} 1",  // an escape: nothing kept next line
      "m{a=\"1\",b=\"2\",c=\"x\\\"z\"} 1",
      "m{a=\"1\", b=\"2\" , c=\"3\",} 1",  // blanks and a trailing comma
      "m{a=\"1\", b=\"2\" , c=\"9\",} 1",
      "m{a=\"1\", b=\"2\" , c=} 1",  // an error after kept labels
      "m{a=\"1\",b=\"2\",c=\"3\"} 1",
      "n{a=\"1\",b=\"2\",c=\"3\"} 1",  // another name, same block
      "{\"q.name\",a=\"1\"} 1",        // a quoted metric name: nothing kept next line
      "{\"q.name\",a=\"2\"} 1",
      "m{a=\"1\",b=\"2\",c=\"3\"} 1",
      "m{a=\"1\",b=\"2\",__name__=\"x\"} 1",
      "m{a=\"1\",b=\"2\",c=\"\"} 1",  // an empty value: absent
      "m{a=\"1\",b=\"2\",c=\"\",d=\"4\"} 1",
  };
  // Line by line in one parser; an error stops a parser, so restart after one.
  size_t first = 0;
  while (first < text_lines.size()) {
    std::string rest;
    for (size_t i = first; i < text_lines.size(); ++i) rest += text_lines[i] + "\n";
    Parser p(rest, Format::kPrometheusText);
    size_t i = first;
    for (Entry e; (e = p.Next()) != Entry::kEof; ++i) {
      INFO("line " << i + 1 << ": " << text_lines[i]);
      std::string got;
      if (e == Entry::kError) {
        got = "error " + p.error().message();
      } else {
        std::vector<amas::core::Label> views;
        const amas::core::Status st = p.LabelViews(&views);
        got = st.ok() ? amas::core::Labels::FromLabels(views).ToString() : "error " + st.message();
      }
      std::string want = AloneResult(text_lines[i], Format::kPrometheusText);
      if (want.starts_with("error 1:")) {
        // Alone the line is line 1; here it is line i - first + 1.
        want = "error " + std::to_string(i - first + 1) + want.substr(7);
      }
      CHECK(got == want);
      if (got.starts_with("error")) break;
    }
    first = i + 1;
  }
}

TEST_CASE("a failing Labels() stops the parser too") {
  Parser p("a{b=c} 1\nd 2\n", Format::kPrometheusText);
  amas::core::LabelsBuilder b;
  REQUIRE(p.Next() == Entry::kSeries);  // the label block is read lazily
  const amas::core::Status st = p.Labels(&b);
  CHECK(st.message().starts_with("1:5: "));
  CHECK(p.Next() == Entry::kError);
  CHECK(p.error() == st);
}

TEST_CASE("kEof repeats after the end") {
  Parser p("# EOF\n", Format::kOpenMetrics);
  CHECK(p.Next() == Entry::kEof);
  CHECK(p.Next() == Entry::kEof);
}

TEST_CASE("Check counts families that have samples, and series") {
  const std::string text =
      "# HELP h A histogram.\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3\n"
      "h_count 2\n"
      "# TYPE unused gauge\n"
      "g 1\n"
      "g 2\n";
  auto r = Check(text, Format::kPrometheusText);
  REQUIRE(r.ok());
  CHECK(r->families == 2);
  CHECK(r->series == 6);

  auto bad = Check("a 1\nb{c=\"\\t\"} 2\n", Format::kPrometheusText);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "2:6: invalid escape sequence \"\\\\t\" in label value");
}

TEST_CASE("Check uses the OpenMetrics spec rules unless told otherwise") {
  const std::string om = "a 1\nb 1\na 2\n# EOF\n";
  CHECK_FALSE(Check(om, Format::kOpenMetrics).ok());
  auto lenient = Check(om, Format::kOpenMetrics, ParseOptions{});
  REQUIRE(lenient.ok());
  CHECK(lenient->families == 2);  // distinct names, though "a" comes back
  CHECK(lenient->series == 3);
}

// Hostile input must never crash or hang: mutate valid bodies at random and
// parse them in every mode (ASan/UBSan builds run this too).
TEST_CASE("mutated inputs never crash") {
  const std::vector<std::string> seeds = {
      "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"1\",a=\"x\\\"y\"} 1 100\n"
      "h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n{\"u.tf\",\"l.b\"=\"v\"} 1\n",
      "# TYPE a counter\n# UNIT a_s s\n# HELP a x\\ny\na_total{a=\"b\"} 1 1.5 # {t=\"1\"} 2 3\n"
      "a_created 1\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 2\n# EOF\n",
      "{\"a\",b=\"\xc3\xa9\\n\"} NaN -5\n  b {c=\"}\"}\t+Inf\n# comment\n\n",
  };
  const char alphabet[] = "{}\",=\\ \t\n#.e+-_:0123456789aINfEOF\xff\xc3\x80";
  std::mt19937 rng(1234);
  amas::core::LabelsBuilder b;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t at = rng() % (s.size() + 1);
      const char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 4) {
        case 0:
          s.insert(s.begin() + static_cast<long>(at), c);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1 + rng() % 4);
          break;
        case 2:
          if (at < s.size()) s[at] = c;
          break;
        default:
          s.resize(at);
          break;  // truncation, as a cut-off scrape
      }
    }
    for (Format f : {Format::kPrometheusText, Format::kOpenMetrics}) {
      for (bool spec : {false, true}) {
        ParseOptions o;
        o.openmetrics_spec = spec;
        Parser p(s, f, o);
        for (int n = 0; n < 1000; ++n) {
          const Entry e = p.Next();
          if (e == Entry::kEof || e == Entry::kError) break;
          if (e == Entry::kSeries) {
            (void)p.series();
            if (!p.Labels(&b).ok()) {
              REQUIRE(p.Next() == Entry::kError);
              break;
            }
          }
        }
        const auto r = Check(s, f, o);
        if (!r.ok()) {
          const std::string& m = r.status().message();
          INFO(m);
          CHECK(m.find(':') != std::string::npos);
        }
      }
    }
  }
}
