// The pure pieces of the scraper: cache index, label merge, URLs, offsets.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "sources/series_cache.h"
#include "sources/target_scrape.h"
#include "sources/targets.h"

namespace amas::sources {
namespace {

TEST_CASE("FlatIndex agrees with std::unordered_map under inserts and erases", "[sources]") {
  FlatIndex index;
  std::unordered_map<uint64_t, uint32_t> model;  // key → id
  std::vector<uint64_t> keys;
  std::mt19937_64 rng(7);
  uint32_t next_id = 0;
  // Few distinct hash values so probe runs are long and wrap around.
  auto hash_of = [](uint64_t key) { return (key % 97) * 0x9E3779B97F4A7C15ULL; };
  std::unordered_map<uint32_t, uint64_t> key_of;
  for (int step = 0; step < 20000; ++step) {
    const uint64_t key = rng() % 3000;
    const uint64_t h = hash_of(key);
    auto eq = [&](uint32_t id) { return key_of[id] == key; };
    const uint32_t found = index.Find(h, eq);
    auto it = model.find(key);
    REQUIRE((found == kNoEntry) == (it == model.end()));
    if (it != model.end()) REQUIRE(found == it->second);
    if (rng() % 3 != 0) {
      if (it == model.end()) {
        index.Insert(h, next_id);
        model[key] = next_id;
        key_of[next_id] = key;
        ++next_id;
      }
    } else if (it != model.end()) {
      REQUIRE(index.Erase(h, it->second));
      model.erase(it);
    }
    REQUIRE(index.size() == model.size());
  }
}

uint32_t Find(const SeriesCache& cache, std::string_view key, uint32_t hint) {
  uint64_t hash;
  const uint32_t id = cache.Find(key, hint, &hash);
  CHECK((hash == 0 || hash == core::Hash64(key)));
  return id;
}

TEST_CASE("SeriesCache finds by hint and by hash, aliases share an owner", "[sources]") {
  SeriesCache cache;
  const store::SeriesRef r1{1, 0}, r2{2, 0};
  const uint32_t a = cache.Insert("a{x=\"1\"}", r1);
  const uint32_t b = cache.Insert("b", r2);
  const uint32_t alias = cache.Insert("a{x=\"1\",}", r1);
  CHECK(cache.at(a).owner == a);
  CHECK(cache.at(alias).owner == a);
  CHECK(Find(cache, "b", a) == b);         // wrong hint: falls back to the hash
  CHECK(Find(cache, "b", b) == b);         // right hint
  CHECK(Find(cache, "b", kNoEntry) == b);  // no hint
  CHECK(Find(cache, "c", b) == kNoEntry);
  cache.Rebind(alias, store::SeriesRef{9, 1});
  CHECK(cache.at(a).ref == store::SeriesRef{9, 1});
  cache.Erase(b);
  CHECK(Find(cache, "b", b) == kNoEntry);
  CHECK(cache.size() == 2);
  const uint32_t c = cache.Insert("c", r2);
  CHECK(c == b);  // ids are reused
  CHECK(cache.key(c) == "c");
}

TEST_CASE("SeriesCache compaction keeps keys findable", "[sources]") {
  SeriesCache cache;
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < 40000; ++i) {
    ids.push_back(cache.Insert("series_with_a_longish_name_" + std::to_string(i), {i, 0}));
  }
  for (uint32_t i = 0; i < 40000; ++i) {
    if (i % 10 != 0) cache.Erase(ids[i]);
  }
  cache.MaybeCompact();
  for (uint32_t i = 0; i < 40000; i += 10) {
    const std::string key = "series_with_a_longish_name_" + std::to_string(i);
    REQUIRE(Find(cache, key, kNoEntry) == ids[i]);
    REQUIRE(cache.key(ids[i]) == key);
  }
}

struct MergeCase {
  std::vector<std::pair<std::string, std::string>> scraped;
  bool honor;
  std::vector<std::pair<std::string, std::string>> want;
};

TEST_CASE("MergeTargetLabels follows Prometheus's mutateSampleLabels", "[sources]") {
  const core::Labels target = core::Labels::FromPairs({{"job", "j"}, {"instance", "i:1"}});
  const std::vector<MergeCase> cases = {
      {{{"__name__", "m"}}, false, {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}}},
      {{{"__name__", "m"}, {"job", "x"}},
       false,
       {{"__name__", "m"}, {"job", "j"}, {"instance", "i:1"}, {"exported_job", "x"}}},
      {{{"__name__", "m"}, {"job", "x"}, {"exported_job", "y"}},
       false,
       {{"__name__", "m"},
        {"job", "j"},
        {"instance", "i:1"},
        {"exported_job", "y"},
        {"exported_exported_job", "x"}}},
      {{{"__name__", "m"}, {"job", "x"}, {"instance", "z"}},
       false,
       {{"__name__", "m"},
        {"job", "j"},
        {"instance", "i:1"},
        {"exported_job", "x"},
        {"exported_instance", "z"}}},
      {{{"__name__", "m"}, {"job", "x"}},
       true,
       {{"__name__", "m"}, {"job", "x"}, {"instance", "i:1"}}},
  };
  std::vector<std::pair<std::string, std::string>> scratch;
  for (const MergeCase& c : cases) {
    core::LabelsBuilder b;
    for (const auto& [n, v] : c.scraped) b.Set(n, v);
    MergeTargetLabels(target, c.honor, &b, &scratch);
    CHECK(b.Build() == core::Labels::FromPairs(c.want));
  }
}

TEST_CASE("QueryEscape matches Go's url.QueryEscape", "[sources]") {
  CHECK(QueryEscape("match[]") == "match%5B%5D");
  CHECK(QueryEscape("{job=\"a b\"}") == "%7Bjob%3D%22a+b%22%7D");
  CHECK(QueryEscape("a-_.~z09") == "a-_.~z09");
  CHECK(QueryEscape("x*y/é") == "x%2Ay%2F%C3%A9");
}

TEST_CASE("NextScrapeTime spreads targets by hash and keeps the phase", "[sources]") {
  const core::Duration interval = core::Duration::Seconds(15);
  const core::Time now = core::Time::FromUnixMillis(1'000'000'007);
  for (uint64_t hash : {0ULL, 1ULL, 14'999ULL, 123'456'789ULL}) {
    const core::Time next = NextScrapeTime(hash, interval, now);
    CHECK(next >= now);
    CHECK(next - now < interval);
    CHECK(next.unix_millis() % 15'000 == static_cast<int64_t>(hash % 15'000));
    CHECK(NextScrapeTime(hash, interval, next) == next);
    CHECK(NextScrapeTime(hash, interval, next + core::Duration::Millis(1)) == next + interval);
  }
}

}  // namespace
}  // namespace amas::sources
