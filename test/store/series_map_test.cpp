// The label-set hash table: equal hashes are normal and must never merge two
// series; erasing keeps every other entry reachable.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <vector>

#include "store/series_map.h"

using amas::store::internal::SeriesMap;

TEST_CASE("SeriesMap: label sets with the same hash stay apart") {
  // Slot s stands for a label set; all share hash 42, as a real collision would.
  SeriesMap map;
  for (uint32_t s = 0; s < 10; ++s) {
    CHECK(map.Find(42, [&](uint32_t c) { return c == s; }) == SeriesMap::kNone);
    map.Insert(42, s);
  }
  for (uint32_t s = 0; s < 10; ++s) {
    CHECK(map.Find(42, [&](uint32_t c) { return c == s; }) == s);
  }
  CHECK(map.Erase(42, 3));
  CHECK_FALSE(map.Erase(42, 3));
  CHECK(map.Find(42, [](uint32_t c) { return c == 3; }) == SeriesMap::kNone);
  for (uint32_t s = 0; s < 10; ++s) {
    if (s == 3) continue;
    CHECK(map.Find(42, [&](uint32_t c) { return c == s; }) == s);
  }
  CHECK(map.size() == 9);
}

TEST_CASE("SeriesMap: random inserts and erases agree with std::map") {
  // Few distinct hashes so runs overlap and wrap around the table.
  SeriesMap map;
  std::map<uint32_t, uint64_t> model;  // slot -> hash
  std::mt19937 rng(1);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t slot = rng() % 3000;
    const uint64_t hash = (rng() % 50) * 0x100000001ULL;
    auto it = model.find(slot);
    if (it == model.end()) {
      map.Insert(hash, slot);
      model[slot] = hash;
    } else {
      REQUIRE(map.Erase(it->second, slot));
      model.erase(it);
    }
    if (step % 997 == 0) {
      for (const auto& [s, h] : model) {
        REQUIRE(map.Find(h, [&](uint32_t c) { return c == s; }) == s);
      }
    }
  }
  CHECK(map.size() == model.size());
  for (const auto& [s, h] : model) {
    CHECK(map.Find(h, [&](uint32_t c) { return c == s; }) == s);
  }
}
