// The postings index against a plain map: lists hold exactly the ids of the
// series carrying each pair, across position reuse, removals that empty
// lists, re-adding the same values and enough pairs to grow the table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/core.h"
#include "store/postings.h"

using amas::core::Labels;
using amas::store::internal::PostingsIndex;
using amas::store::internal::PostingsList;

namespace {

using Model = std::map<std::string, std::map<std::string, std::set<uint32_t>>>;

std::vector<uint32_t> SortedIds(const PostingsList& list) {
  std::vector<uint32_t> scratch;
  auto ids = list.Sorted(&scratch);
  return {ids.begin(), ids.end()};
}

void CheckAgainst(const PostingsIndex& index, const Model& model) {
  std::vector<std::string> names;
  for (const auto& [name, values] : model) {
    if (!values.empty()) names.push_back(name);
  }
  CHECK(index.Names() == names);
  for (const auto& [name, values] : model) {
    std::vector<std::string> expected_values;
    size_t total = 0;
    for (const auto& [value, ids] : values) {
      expected_values.push_back(value);
      total += ids.size();
      const PostingsList* list = index.Find(name, value);
      REQUIRE(list != nullptr);
      CHECK(SortedIds(*list) == std::vector<uint32_t>(ids.begin(), ids.end()));
    }
    CHECK(index.ValuesOf(name) == expected_values);
    const PostingsIndex::Name* n = index.FindName(name);
    if (values.empty()) {
      CHECK(n == nullptr);
      continue;
    }
    REQUIRE(n != nullptr);
    CHECK(n->total == total);
    size_t seen = 0;
    index.ForEachValue(*n, [&](std::string_view value, const PostingsList& list) {
      auto it = values.find(std::string(value));
      REQUIRE(it != values.end());
      CHECK(list.size() == it->second.size());
      ++seen;
    });
    CHECK(seen == values.size());
  }
}

}  // namespace

TEST_CASE("PostingsIndex: consecutive sets sharing values, and a value moving position") {
  PostingsIndex index;
  Model model;
  const std::vector<Labels> sets = {
      Labels::FromPairs({{"__name__", "a"}, {"job", "x"}, {"le", "1"}}),
      Labels::FromPairs({{"__name__", "a"}, {"job", "x"}, {"le", "2"}}),
      Labels::FromPairs({{"__name__", "a"}, {"job", "x"}, {"le", "1"}, {"z", "x"}}),
      Labels::FromPairs({{"job", "x"}, {"le", "2"}}),      // names shift one position
      Labels::FromPairs({{"__name__", "x"}, {"a", "x"}}),  // same value, other names
  };
  for (uint32_t id = 0; id < sets.size(); ++id) {
    index.Add(sets[id], id);
    for (auto l : sets[id]) model[std::string(l.name)][std::string(l.value)].insert(id);
  }
  CheckAgainst(index, model);
  CHECK(index.Find("job", "y") == nullptr);
  CHECK(index.Find("nope", "x") == nullptr);
  CHECK(index.FindName("nope") == nullptr);
}

TEST_CASE("PostingsIndex: removals empty lists, names disappear, values come back") {
  std::mt19937 rng(7);
  PostingsIndex index;
  Model model;
  std::vector<Labels> by_id;
  // Enough distinct pairs to grow the flat table several times.
  for (uint32_t id = 0; id < 5000; ++id) {
    const std::string pod = "pod-" + std::to_string(rng() % 1500);
    const std::string le = std::to_string(rng() % 12);
    Labels l = Labels::FromPairs({{"__name__", id % 3 == 0 ? "m_bucket" : "m_total"},
                                  {"pod", pod},
                                  {"le", le},
                                  {"only_" + std::to_string(id % 7), "v"}});
    index.Add(l, id);
    for (auto x : l) model[std::string(x.name)][std::string(x.value)].insert(id);
    by_id.push_back(std::move(l));
  }
  CheckAgainst(index, model);

  // Drop two thirds, in one Remove, as Collect does.
  std::vector<uint8_t> dead(by_id.size());
  std::vector<Labels> dropped;
  for (uint32_t id = 0; id < by_id.size(); ++id) {
    if (id % 3 == 0) continue;
    dead[id] = 1;
    dropped.push_back(by_id[id]);
    for (auto x : by_id[id]) {
      auto& values = model[std::string(x.name)];
      values[std::string(x.value)].erase(id);
      if (values[std::string(x.value)].empty()) values.erase(std::string(x.value));
    }
  }
  index.Remove(dropped, dead);
  CheckAgainst(index, model);
  CHECK(index.FindName("m_total") == nullptr);
  CHECK(index.Find("__name__", "m_total") == nullptr);

  // The freed ids come back with the old values and new ones.
  for (uint32_t id = 0; id < by_id.size(); ++id) {
    if (dead[id] == 0) continue;
    Labels l = Labels::FromPairs({{"__name__", "m_total"},
                                  {"pod", "new-" + std::to_string(id % 100)},
                                  {"le", std::to_string(id % 12)}});
    index.Add(l, id);
    for (auto x : l) model[std::string(x.name)][std::string(x.value)].insert(id);
  }
  CheckAgainst(index, model);
}
