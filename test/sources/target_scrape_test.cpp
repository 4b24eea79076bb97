// ScrapeState::Ingest without HTTP, on first scrapes bigger than one batch of
// new series: duplicates and aliases across batch boundaries, sample_limit,
// a parse error after several batches, and the label merge's fast path
// against MergeTargetLabels.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/core.h"
#include "sources/target_scrape.h"
#include "store/store.h"

namespace amas::sources {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;

ScrapeOptions Options(bool honor_labels = false) {
  ScrapeOptions o;
  o.target_labels = core::Labels::FromPairs({{"job", "j"}, {"instance", "i:1"}});
  o.honor_labels = honor_labels;
  return o;
}

ScrapeInput Body(const std::string& body, int64_t t) {
  ScrapeInput in;
  in.body = body;
  in.t_ms = t;
  return in;
}

// The samples of one series, or none.
std::vector<store::Sample> SamplesOf(const store::Store& store, const core::Labels& labels) {
  auto view = store.NewView();
  std::vector<store::Matcher> ms;
  for (core::Label l : labels) {
    ms.push_back(*store::Matcher::Make(store::Matcher::Type::kEqual, std::string(l.name),
                                       std::string(l.value)));
  }
  auto refs = view.Select(ms);
  std::vector<store::Sample> out;
  if (!refs.ok()) return out;
  for (store::SeriesRef ref : *refs) {
    if (view.labels(ref) == labels) view.Samples(ref, INT64_MIN, INT64_MAX, &out);
  }
  return out;
}

}  // namespace

TEST_CASE("first scrape over many batches: duplicates and aliases keep the first sample",
          "[sources]") {
  // 3000 new lines; every 700th line repeats an earlier one byte for byte, and
  // every 900th one spells an earlier series differently (label order).
  std::string body;
  int duplicates = 0, aliases = 0, lines = 0;
  for (int i = 0; i < 3000; ++i) {
    body += "m{i=\"" + std::to_string(i) + "\",k=\"v\"} " + std::to_string(i) + "\n";
    ++lines;
    if (i > 0 && i % 700 == 0) {
      body += "m{i=\"" + std::to_string(i - 1) + "\",k=\"v\"} -1\n";
      ++duplicates;
      ++lines;
    }
    if (i > 0 && i % 900 == 0) {
      body += "m{k=\"v\",i=\"" + std::to_string(i - 2) + "\"} -2\n";
      ++duplicates;
      ++aliases;
      ++lines;
    }
  }
  store::Store store;
  ScrapeState state(Options());
  const std::string b = body;
  ScrapeReport r = state.Ingest(&store, Body(b, kT0));
  REQUIRE(r.status.ok());
  CHECK(r.scraped == static_cast<size_t>(lines));
  CHECK(r.duplicates == static_cast<size_t>(duplicates));
  CHECK(r.series_added == 3000);
  CHECK(r.post_relabel == 3000);
  for (int i : {0, 699, 898, 1798, 2999}) {
    auto s = SamplesOf(store, core::Labels::FromPairs({{"__name__", "m"},
                                                       {"i", std::to_string(i)},
                                                       {"k", "v"},
                                                       {"job", "j"},
                                                       {"instance", "i:1"}}));
    REQUIRE(s.size() == 1);
    CHECK(s[0].value == i);
  }
  // A repeat finds everything in the cache; nothing went stale.
  r = state.Ingest(&store, Body(b, kT0 + 15'000));
  REQUIRE(r.status.ok());
  CHECK(r.series_added == 0);
  CHECK(r.duplicates == static_cast<size_t>(duplicates));
  CHECK(r.stale_markers == 0);
  CHECK(state.cached_series() == static_cast<size_t>(3000 + aliases));  // distinct bytes
}

TEST_CASE("first scrape: sample_limit and a late parse error fail it, the next one works",
          "[sources]") {
  std::string good;
  for (int i = 0; i < 2000; ++i) good += "a_" + std::to_string(i) + " 1\n";
  store::Store store;
  ScrapeOptions o = Options();
  o.sample_limit = 1500;
  ScrapeState state(o);
  ScrapeReport r = state.Ingest(&store, Body(good, kT0));
  CHECK(r.status.IsResourceExhausted());
  CHECK(r.scraped == 2000);
  CHECK(SamplesOf(store,
                  core::Labels::FromPairs({{"__name__", "a_0"}, {"job", "j"}, {"instance", "i:1"}}))
            .empty());

  const std::string bad = good + "a_x{ 1\n";
  o.sample_limit = 0;
  state.SetOptions(o, &store, kT0 + 1);
  r = state.Ingest(&store, Body(bad, kT0 + 15'000));
  CHECK_FALSE(r.status.ok());
  CHECK_THAT(r.status.message(), Catch::Contains("2001:"));
  CHECK(SamplesOf(store, core::Labels::FromPairs(
                             {{"__name__", "a_1999"}, {"job", "j"}, {"instance", "i:1"}}))
            .empty());

  r = state.Ingest(&store, Body(good, kT0 + 30'000));
  REQUIRE(r.status.ok());
  CHECK(r.post_relabel == 2000);
  auto s = SamplesOf(
      store, core::Labels::FromPairs({{"__name__", "a_1999"}, {"job", "j"}, {"instance", "i:1"}}));
  REQUIRE(s.size() == 1);
  CHECK(s[0].t_ms == kT0 + 30'000);
}

TEST_CASE("target labels merge the same on the fast path and through MergeTargetLabels",
          "[sources]") {
  struct Case {
    std::string line;
    bool honor;
    std::vector<std::pair<std::string, std::string>> want;
  };
  const std::vector<Case> cases = {
      {"m 1", false, {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}}},
      {"m{job=\"\"} 1", false, {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}}},
      {"m{a=\"\",b=\"x\"} 1",
       false,
       {{"__name__", "m"}, {"b", "x"}, {"job", "j"}, {"instance", "i:1"}}},
      {"m{job=\"x\"} 1",
       false,
       {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}, {"exported_job", "x"}}},
      {"m{instance=\"z\",job=\"x\"} 1",
       false,
       {{"__name__", "m"},
        {"job", "j"},
        {"instance", "i:1"},
        {"exported_job", "x"},
        {"exported_instance", "z"}}},
      {"m{job=\"x\"} 1", true, {{"__name__", "m"}, {"job", "x"}, {"instance", "i:1"}}},
      {"m{job=\"\"} 1", true, {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}}},
  };
  for (const Case& c : cases) {
    INFO(c.line << " honor_labels=" << c.honor);
    store::Store store;
    ScrapeState state(Options(c.honor));
    const std::string body = c.line + "\n";
    REQUIRE(state.Ingest(&store, Body(body, kT0)).status.ok());
    CHECK(SamplesOf(store, core::Labels::FromPairs(c.want)).size() == 1);
  }
}

}  // namespace amas::sources

namespace amas::sources {

TEST_CASE("le is stored as exposed (Prometheus 2.x) unless normalize_bucket_labels says 3.x",
          "[sources]") {
  const std::string body = "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 4\n";
  auto bucket = [](std::string_view le) {
    return core::Labels::FromPairs(
        {{"__name__", "h_bucket"}, {"le", le}, {"job", "j"}, {"instance", "i:1"}});
  };
  store::Store store;
  ScrapeOptions o = Options();
  ScrapeState state(o);
  REQUIRE(state.Ingest(&store, Body(body, kT0)).status.ok());
  CHECK(SamplesOf(store, bucket("1")).size() == 1);
  CHECK(SamplesOf(store, bucket("1.0")).empty());

  // Switching renames the series: the cache must not keep the old identity.
  o.normalize_bucket_labels = true;
  state.SetOptions(o, &store, kT0 + 1);
  REQUIRE(state.Ingest(&store, Body(body, kT0 + 15'000)).status.ok());
  auto normalized = SamplesOf(store, bucket("1.0"));
  REQUIRE(normalized.size() == 1);
  CHECK(normalized[0].t_ms == kT0 + 15'000);
}

}  // namespace amas::sources
