#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/core.h"

using amas::core::Labels;
using amas::core::LabelsBuilder;

TEST_CASE("Labels: sorted, with empty values dropped and last duplicate winning") {
  Labels l = Labels::FromPairs({{"job", "api"}, {"__name__", "up"}, {"env", ""}, {"job", "db"}});
  CHECK(l.size() == 2);
  CHECK(l.Get("job") == "db");
  CHECK(l.Name() == "up");
  CHECK_FALSE(l.Has("env"));
  std::vector<std::string> names;
  for (auto label : l) names.emplace_back(label.name);
  CHECK(names == std::vector<std::string>{"__name__", "job"});
}

TEST_CASE("Labels: equality and hash follow content, not insertion order") {
  Labels a = Labels::FromPairs({{"a", "1"}, {"b", "2"}});
  Labels b = Labels::FromPairs({{"b", "2"}, {"a", "1"}});
  Labels c = Labels::FromPairs({{"a", "1"}, {"b", "3"}});
  CHECK(a == b);
  CHECK(a.hash() == b.hash());
  CHECK_FALSE(a == c);
  // "ab"+"c" must not collide with "a"+"bc": lengths are part of the encoding.
  CHECK_FALSE(Labels::FromPairs({{"ab", "c"}}) == Labels::FromPairs({{"a", "bc"}}));
  std::unordered_set<Labels> set{a, b, c};
  CHECK(set.size() == 2);
}

TEST_CASE("Labels: Prometheus notation with escapes") {
  CHECK(Labels().ToString() == "{}");
  CHECK(Labels::FromPairs({{"__name__", "up"}}).ToString() == "up");
  CHECK(Labels::FromPairs({{"__name__", "x"}, {"b", "q\"\\\n"}, {"a", "1"}}).ToString() ==
        "x{a=\"1\", b=\"q\\\"\\\\\\n\"}");
  CHECK(Labels::FromPairs({{"a", "1"}}).ToString() == "{a=\"1\"}");
}

TEST_CASE("Labels: ordering is name by name, then value") {
  Labels a = Labels::FromPairs({{"a", "1"}});
  Labels ab = Labels::FromPairs({{"a", "1"}, {"b", "1"}});
  Labels a2 = Labels::FromPairs({{"a", "2"}});
  CHECK(a < ab);
  CHECK(ab < a2);
  CHECK_FALSE(a2 < a);
  CHECK_FALSE(a < a);
}

TEST_CASE("LabelsBuilder: by and without") {
  Labels base = Labels::FromPairs({{"__name__", "x"}, {"job", "a"}, {"instance", "i"}});
  CHECK(LabelsBuilder(base).Keep({"job"}).Build() == Labels::FromPairs({{"job", "a"}}));
  CHECK(LabelsBuilder(base).Drop({"job", "__name__"}).Build() ==
        Labels::FromPairs({{"instance", "i"}}));
  CHECK(LabelsBuilder(base).Set("job", "").Build().size() == 2);
}

TEST_CASE("LabelsBuilder: values replaced, deleted and copied from its own labels") {
  LabelsBuilder b;
  b.Set("job", "a").Set("instance", "i").Set("job", "bb").Set("job", "c");
  CHECK(b.Get("job") == "c");
  CHECK(b.Build() == Labels::FromPairs({{"job", "c"}, {"instance", "i"}}));
  // Views from Get() passed back in: the builder copies them before it grows.
  for (int i = 0; i < 50; ++i) b.Set("copy_" + std::to_string(i), b.Get("instance"));
  b.Set(b.Get("job"), b.Get("job"));  // name and value both viewing the builder
  const Labels l = b.Build();
  CHECK(l.size() == 53);
  CHECK(l.Get("copy_49") == "i");
  CHECK(l.Get("c") == "c");
  // One label set again and again, longer and shorter: values stay right.
  for (int i = 0; i < 1000; ++i) {
    b.Set("loop", std::string(static_cast<size_t>(i % 37 + 1), static_cast<char>('a' + i % 26)));
  }
  CHECK(b.Get("loop") == std::string(999 % 37 + 1, static_cast<char>('a' + 999 % 26)));
  CHECK(b.Get("copy_0") == "i");
  b.Del("loop");
  b.Del("instance").Del("absent");
  CHECK(b.Get("instance").empty());
  CHECK(b.Build().size() == 52);
  b.Reset();
  CHECK(b.Build().empty());
  CHECK(b.Build() == Labels());
}

TEST_CASE("LabelsBuilder: many labels in any order build one canonical set") {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 100; ++i) pairs.emplace_back("n" + std::to_string((i * 37) % 100), "v");
  Labels forward = Labels::FromPairs(pairs);
  std::reverse(pairs.begin(), pairs.end());
  Labels backward = Labels::FromPairs(pairs);
  CHECK(forward == backward);
  CHECK(forward.hash() == backward.hash());
  std::string previous;
  for (auto l : forward) {
    CHECK(previous < l.name);
    previous = std::string(l.name);
  }
  CHECK(LabelsBuilder(forward).Build() == forward);
}

TEST_CASE("Labels::FromLabels: like FromPairs, from views") {
  using amas::core::Label;
  const std::vector<Label> views = {
      {"job", "a"}, {"__name__", "m"}, {"empty", ""}, {"instance", "i"}, {"job", "b"}};
  const Labels l = Labels::FromLabels(views);
  CHECK(l == Labels::FromPairs({{"__name__", "m"}, {"instance", "i"}, {"job", "b"}}));
  CHECK(l.ToString() == "m{instance=\"i\", job=\"b\"}");  // later job wins, empty dropped
  CHECK(Labels::FromLabels({}) == Labels());
  // Names sharing their first 8 bytes, and more labels than fit on the stack.
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("long_prefix_" + std::to_string(39 - i));
  std::vector<Label> many;
  for (const std::string& n : names) many.push_back({n, "v"});
  const Labels big = Labels::FromLabels(many);
  CHECK(big.size() == 40);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& n : names) pairs.emplace_back(n, "v");
  CHECK(big == Labels::FromPairs(pairs));
}

TEST_CASE("LabelsEncoder: the same Labels as FromLabels over a stream of repeating sets") {
  // Sets drawn from a few name sequences (so most repeat the one before),
  // with names sharing their first 8 bytes, duplicate names, empty values
  // and sets that grow or shrink by a label.
  const std::vector<std::vector<std::string>> sequences = {
      {"__name__", "service", "pod", "le", "job", "instance"},
      {"__name__", "instance_b", "instance_a", "job", "instance"},
      {"__name__", "a", "b", "a"},  // a duplicate: the later wins
      {"__name__", "a", "b"},
      {"__name__", "a", "b", "c"},
      {"z", "y", "x", "w", "v", "u", "t", "s", "r", "q"},
  };
  std::mt19937 rng(11);
  amas::core::LabelsEncoder encoder;
  size_t sets = 0;
  for (int run = 0; run < 400; ++run) {
    const auto& names = sequences[rng() % sequences.size()];
    const int repeat = 1 + static_cast<int>(rng() % 5);
    for (int r = 0; r < repeat; ++r, ++sets) {
      std::vector<std::string> values;
      for (size_t i = 0; i < names.size(); ++i) {
        const unsigned pick = rng() % 8;
        values.push_back(pick == 0 ? "" : "v" + std::to_string(pick));
      }
      std::vector<amas::core::Label> views;
      for (size_t i = 0; i < names.size(); ++i) views.push_back({names[i], values[i]});
      const Labels want = Labels::FromLabels(views);
      const Labels got = encoder.FromLabels(views);
      INFO("set " << sets << ": " << want.ToString());
      CHECK(got == want);
      CHECK(got.size() == want.size());
      CHECK(got.ToString() == want.ToString());
    }
  }
  CHECK(sets > 400);
}

TEST_CASE("Labels: long values survive the varint encoding") {
  std::string big(100'000, 'v');
  Labels l = Labels::FromPairs({{"k", big}, {"a", "b"}});
  CHECK(l.Get("k") == big);
  CHECK(l.Get("a") == "b");
  std::string long_name(300, 'n');  // two-byte varint before a name, too
  Labels m = Labels::FromPairs({{long_name, big}, {"a", std::string(200, 'w')}, {"z", "1"}});
  CHECK(m.Get(long_name) == big);
  CHECK(m.Get("a") == std::string(200, 'w'));
  CHECK(m.Get("z") == "1");
  CHECK(LabelsBuilder(m).Build() == m);
}

TEST_CASE("Hash64: stable and sensitive to every byte") {
  CHECK(amas::core::Hash64("abc") == amas::core::Hash64("abc"));
  std::string s(40, 'x');
  const uint64_t h = amas::core::Hash64(s);
  for (size_t i = 0; i < s.size(); ++i) {
    std::string t = s;
    t[i] = 'y';
    CHECK(amas::core::Hash64(t) != h);
  }
  CHECK(amas::core::Hash64("") != amas::core::Hash64(std::string_view("\0", 1)));
}
