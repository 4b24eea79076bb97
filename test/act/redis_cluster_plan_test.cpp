#include "act/redis_cluster_plan.h"

#include <catch2/catch.hpp>
#include <map>

#include "act/redis_cluster_topology.h"

namespace amas::act::redis {
namespace {

std::vector<int> Range(int first, int last) {
  std::vector<int> v;
  for (int s = first; s <= last; ++s) v.push_back(s);
  return v;
}

// redis-cli's 3-master layout.
std::vector<MasterSlots> Three() {
  return {{"a", Range(0, 5460)}, {"b", Range(5461, 10922)}, {"c", Range(10923, 16383)}};
}

// Applies moves and returns the slot count per master; checks each move's source.
std::map<std::string, int> After(std::vector<MasterSlots> owners,
                                 const std::vector<SlotMove>& moves) {
  std::map<int, std::string> owner;
  for (const MasterSlots& m : owners) {
    for (int s : m.slots) owner[s] = m.id;
  }
  for (const SlotMove& mv : moves) {
    REQUIRE(owner[mv.slot] == mv.from);
    owner[mv.slot] = mv.to;
  }
  std::map<std::string, int> count;
  for (const auto& [s, id] : owner) ++count[id];
  return count;
}

TEST_CASE("plan: scale out 3 -> 4 takes a quarter from each, lowest slots first") {
  auto owners = Three();
  owners.push_back({"d", {}});
  auto moves = PlanEvenSlots(owners, {"a", "b", "c", "d"});
  REQUIRE(moves.ok());
  CHECK(moves->size() == 4096);
  auto count = After(owners, *moves);
  CHECK(count["a"] == 4096);
  CHECK(count["b"] == 4096);
  CHECK(count["c"] == 4096);
  CHECK(count["d"] == 4096);
  // a holds 5461: gives its lowest 1365 (0..1364); grouped by source, ascending.
  CHECK(moves->front() == SlotMove{0, "a", "d"});
  CHECK((*moves)[1364] == SlotMove{1364, "a", "d"});
  CHECK((*moves)[1365] == SlotMove{5461, "b", "d"});
}

TEST_CASE("plan: scale in 4 -> 3 gives everything of the leaver, back to even") {
  std::vector<MasterSlots> owners = {{"a", Range(1365, 5460)},
                                     {"b", Range(6827, 10922)},
                                     {"c", Range(12288, 16383)},
                                     {"d", [] {
                                        auto v = Range(0, 1364);
                                        auto w = Range(5461, 6826);
                                        auto x = Range(10923, 12287);
                                        v.insert(v.end(), w.begin(), w.end());
                                        v.insert(v.end(), x.begin(), x.end());
                                        return v;
                                      }()}};
  auto moves = PlanEvenSlots(owners, {"a", "b", "c"});
  REQUIRE(moves.ok());
  CHECK(moves->size() == 4096);
  auto count = After(owners, *moves);
  CHECK(count.size() == 3);
  CHECK(count["a"] + count["b"] + count["c"] == 16384);
  for (const char* id : {"a", "b", "c"}) CHECK((count[id] == 5461 || count[id] == 5462));
  for (const SlotMove& m : *moves) CHECK(m.from == "d");
}

TEST_CASE("plan: already even moves nothing; uneven evens out") {
  auto even = PlanEvenSlots(Three(), {"a", "b", "c"});
  REQUIRE(even.ok());
  CHECK(even->empty());
  CHECK(EvenEnough(Three(), 2.0));

  std::vector<MasterSlots> skewed = {{"a", Range(0, 9999)}, {"b", Range(10000, 16383)}};
  CHECK_FALSE(EvenEnough(skewed, 2.0));
  auto moves = PlanEvenSlots(skewed, {"a", "b"});
  REQUIRE(moves.ok());
  auto count = After(skewed, *moves);
  CHECK(count["a"] == 8192);
  CHECK(count["b"] == 8192);
  CHECK(moves->size() == 1808);
}

TEST_CASE("plan: refuses holes, doubles and strangers") {
  CHECK(PlanEvenSlots({{"a", Range(0, 100)}}, {"a"}).status().message().find("no owner") !=
        std::string::npos);
  CHECK(PlanEvenSlots({{"a", Range(0, 16383)}, {"b", {5}}}, {"a", "b"})
            .status()
            .message()
            .find("two owners") != std::string::npos);
  CHECK_FALSE(PlanEvenSlots(Three(), {}).ok());
  CHECK_FALSE(PlanEvenSlots(Three(), {"a", "z"}).ok());
}

TEST_CASE("leavers: standby masters first, latest first; then the smallest") {
  std::vector<LeaveCandidate> m = {{"orig1", 4096, -1},
                                   {"orig2", 4000, -1},
                                   {"pool0", 4096, 0},
                                   {"pool2", 4096, 2},
                                   {"orig3", 4192, -1}};
  CHECK(ChooseLeavers(m, 1) == std::vector<std::string>{"pool2"});
  CHECK(ChooseLeavers(m, 2) == std::vector<std::string>{"pool2", "pool0"});
  CHECK(ChooseLeavers(m, 3) == std::vector<std::string>{"pool2", "pool0", "orig2"});
  CHECK(ChooseLeavers(m, 9).size() == 4);  // one master always stays
  std::vector<LeaveCandidate> tie = {{"x", 10, -1}, {"y", 10, -1}};
  CHECK(ChooseLeavers(tie, 1) == std::vector<std::string>{"y"});
}

}  // namespace
}  // namespace amas::act::redis
