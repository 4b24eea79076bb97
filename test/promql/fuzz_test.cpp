// Mangled inputs: the parser and the evaluator must answer every one of them
// with a value or an error, never a crash (run under ASan+UBSan in CI), and
// whatever parses must print back to the same tree.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

#include "corpus.h"
#include "promql/parser.h"
#include "promql/promql.h"
#include "store/store.h"

namespace amas::promql {
namespace {

const char* const kFragments[] = {
    "(", ")", "[", "]", "{", "}", ",", ":", "@", "offset", "by", "without", "on", "ignoring",
    "group_left", "bool", "sum", "rate", "5m", "1", "-", "+", "*", "/", "^", "==", "!=", "=~",
    "\"", "'", "`", "\\", "#", "\n", " ", "Inf", "NaN", "0x", "1e", "_", "le", "start()",
    "x[1m:]", "\xff", "\xc3", "topk(", "histogram_quantile(", "label_replace(", ".", "~", "!",
};

std::string Mutate(const std::string& in, std::mt19937* rng) {
  std::string s = in;
  std::uniform_int_distribution<int> op(0, 5);
  const int rounds = 1 + static_cast<int>((*rng)() % 3);
  for (int r = 0; r < rounds; ++r) {
    const size_t pos = s.empty() ? 0 : (*rng)() % (s.size() + 1);
    switch (op(*rng)) {
      case 0:  // delete a character
        if (!s.empty() && pos < s.size()) s.erase(pos, 1);
        break;
      case 1:  // insert a fragment
        s.insert(pos, kFragments[(*rng)() % std::size(kFragments)]);
        break;
      case 2:  // truncate
        s.resize(pos);
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) s.insert(pos, s.substr((*rng)() % s.size(), 1 + (*rng)() % 8));
        break;
      case 4:  // random byte
        s.insert(s.begin() + static_cast<long>(pos), static_cast<char>((*rng)() % 256));
        break;
      default:  // splice another corpus entry
        s.insert(pos, testing::Corpus()[(*rng)() % testing::Corpus().size()]);
        break;
    }
  }
  return s;
}

TEST_CASE("mangled inputs never crash the parser or the engine") {
  store::StoreOptions opts;
  opts.retention = core::Duration::Millis(0);
  store::Store store(opts);
  {
    auto app = store.NewAppender();
    for (const char* name : {"foo", "a", "b", "x_bucket", "by", "sum"}) {
      for (int i = 0; i < 3; ++i) {
        const auto ref = app.GetOrCreate(core::Labels::FromPairs(
            {{"__name__", name}, {"le", std::to_string(i)}, {"a", i % 2 ? "b" : "c"}}));
        for (int k = 0; k < 30; ++k) app.Append(ref, k * 10'000, k * (i + 1));
      }
    }
    app.Commit();
  }
  const store::View view = store.NewView();
  EngineOptions eopts;
  eopts.max_samples = 100'000;
  const Engine engine(eopts);
  // AMAS_PROMQL_FUZZ_ITERATIONS / _SEED run it longer or differently by hand.
  const char* iters_env = std::getenv("AMAS_PROMQL_FUZZ_ITERATIONS");
  const char* seed_env = std::getenv("AMAS_PROMQL_FUZZ_SEED");
  const int iterations = iters_env ? std::atoi(iters_env) : 6000;
  std::mt19937 rng(seed_env ? static_cast<unsigned>(std::atoi(seed_env)) : 20240601u);
  int parsed = 0, evaluated = 0;
  for (int i = 0; i < iterations; ++i) {
    const std::string& base = testing::Corpus()[rng() % testing::Corpus().size()];
    const std::string input = Mutate(base, &rng);
    auto e = ParseExpr(input);
    if (!e.ok()) continue;
    ++parsed;
    const std::string printed = Print(**e);
    auto again = ParseExpr(printed);
    INFO(input << "  ->  " << printed);
    REQUIRE(again.ok());
    CHECK(testing::Dump(**again) == testing::Dump(**e));
    if ((*e)->type() == ValueType::kMatrix) {
      if (engine.Instant(**e, view, core::Time::FromUnixMillis(200'000)).ok()) ++evaluated;
    } else if (engine.Range(**e, view, core::Time::FromUnixMillis(0),
                            core::Time::FromUnixMillis(300'000), core::Duration::Minutes(1))
                   .ok()) {
      ++evaluated;
    }
  }
  CHECK(parsed > iterations / 20);
  CHECK(evaluated > iterations / 60);
}

}  // namespace
}  // namespace amas::promql
