// The store at fixed timestamps: order, duplicates, retention, staleness,
// Collect and generations, Select with every matcher kind, rollback, threads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/core.h"
#include "store/store.h"

using amas::core::Duration;
using amas::core::Labels;
using amas::store::AppendStats;
using amas::store::Matcher;
using amas::store::Sample;
using amas::store::SeriesRef;
using amas::store::Store;
using amas::store::StoreOptions;
using Type = amas::store::Matcher::Type;

namespace {

constexpr int64_t kMin = INT64_MIN;
constexpr int64_t kMax = INT64_MAX;

std::vector<Sample> All(const Store& store, SeriesRef ref) {
  std::vector<Sample> out;
  store.NewView().Samples(ref, kMin, kMax, &out);
  return out;
}

std::vector<int64_t> Times(const std::vector<Sample>& samples) {
  std::vector<int64_t> out;
  for (const Sample& s : samples) out.push_back(s.t_ms);
  return out;
}

Matcher M(std::string name, Type type, std::string value) {
  auto m = Matcher::Make(type, std::move(name), std::move(value));
  REQUIRE(m.ok());
  return std::move(m).value();
}

// The selected series as Prometheus prints them, in the returned order.
std::vector<std::string> SelectStrings(const Store& store, const std::vector<Matcher>& ms) {
  auto view = store.NewView();
  auto refs = view.Select(ms);
  REQUIRE(refs.ok());
  std::vector<std::string> out;
  for (SeriesRef r : *refs) out.push_back(view.labels(r).ToString());
  return out;
}

SeriesRef AddSeries(Store* store, const Labels& labels, int64_t t, double v) {
  auto app = store->NewAppender();
  SeriesRef ref = app.GetOrCreate(labels);
  REQUIRE(app.Append(ref, t, v));
  REQUIRE(app.Commit().appended == 1);
  return ref;
}

}  // namespace

TEST_CASE("Store: samples come back in order while out-of-order and duplicates are only counted") {
  Store store;
  auto app = store.NewAppender();
  SeriesRef ref = app.GetOrCreate(Labels::FromPairs({{"__name__", "up"}, {"job", "a"}}));
  REQUIRE(ref.valid());
  struct Step {
    int64_t t;
    double v;
  };
  // Applied in this order within one batch.
  for (Step s : std::vector<Step>{
           {1000, 1}, {2000, 2}, {1500, 9}, {2000, 2}, {2000, 7}, {3000, 3}, {999, 9}}) {
    CHECK(app.Append(ref, s.t, s.v));
  }
  AppendStats st = app.Commit();
  CHECK(st.appended == 3);
  CHECK(st.out_of_order == 2);
  CHECK(st.duplicate == 2);
  CHECK(st.stale_series == 0);
  auto got = All(store, ref);
  CHECK(Times(got) == std::vector<int64_t>{1000, 2000, 3000});
  CHECK(got[1].value == 2);

  // Order holds across batches too.
  CHECK(app.Append(ref, 3000, 4));
  CHECK(app.Append(ref, 2500, 4));
  CHECK(app.Append(ref, 4000, 4));
  st = app.Commit();
  CHECK(st.appended == 1);
  CHECK(st.duplicate == 1);
  CHECK(st.out_of_order == 1);
  CHECK(store.Stats().samples == 4);
}

TEST_CASE("Store: nothing is visible before Commit and Rollback discards samples but not series") {
  Store store;
  const Labels l = Labels::FromPairs({{"__name__", "x"}});
  SeriesRef ref;
  {
    auto app = store.NewAppender();
    ref = app.GetOrCreate(l);
    CHECK(app.Append(ref, 10, 1));
    CHECK(All(store, ref).empty());
    app.Rollback();
    CHECK(app.Commit().appended == 0);
    CHECK(app.Append(ref, 20, 2));
  }  // destroyed without Commit
  CHECK(All(store, ref).empty());
  // The series stays, so the ref does.
  auto view = store.NewView();
  CHECK(view.labels(ref) == l);
  auto sel = view.Select(std::vector<Matcher>{M("__name__", Type::kEqual, "x")});
  REQUIRE(sel.ok());
  CHECK(*sel == std::vector<SeriesRef>{ref});
}

TEST_CASE("Store: GetOrCreate interns label sets and invalid refs are refused") {
  Store store;
  auto app = store.NewAppender();
  const Labels a = Labels::FromPairs({{"__name__", "m"}, {"i", "1"}});
  const Labels a2 = Labels::FromPairs({{"i", "1"}, {"__name__", "m"}});
  const Labels b = Labels::FromPairs({{"__name__", "m"}, {"i", "2"}});
  SeriesRef ra = app.GetOrCreate(a);
  CHECK(app.GetOrCreate(a2) == ra);
  CHECK_FALSE(app.GetOrCreate(b) == ra);
  CHECK_FALSE(app.GetOrCreate(Labels()).valid());
  CHECK_FALSE(app.Append(SeriesRef{}, 1, 1));
  CHECK_FALSE(app.Append(SeriesRef{12345, 0}, 1, 1));  // never handed out
  CHECK_FALSE(app.Append(SeriesRef{ra.slot, ra.generation + 1}, 1, 1));
  CHECK(store.Stats().series == 2);
  std::vector<Sample> out{{1, 1}};
  store.NewView().Samples(SeriesRef{}, kMin, kMax, &out);
  CHECK(out.empty());
  CHECK(store.NewView().labels(SeriesRef{}).empty());
}

TEST_CASE("Store: stale markers are stored and returned like any sample") {
  Store store;
  const Labels l = Labels::FromPairs({{"__name__", "up"}});
  auto app = store.NewAppender();
  SeriesRef ref = app.GetOrCreate(l);
  app.Append(ref, 1000, 1);
  app.Append(ref, 2000, amas::core::StaleNaN());
  app.Append(ref, 2000, amas::core::StaleNaN());  // same timestamp: a duplicate, as in Prometheus
  app.Append(ref, 3000, 5);                       // the series may come back
  AppendStats st = app.Commit();
  CHECK(st.appended == 3);
  CHECK(st.duplicate == 1);
  auto got = All(store, ref);
  REQUIRE(got.size() == 3);
  CHECK(amas::core::IsStaleNaN(got[1].value));
  CHECK(got[2].value == 5);
}

TEST_CASE("Store: Samples returns the samples after mint up to and including maxt") {
  Store store(StoreOptions{Duration::Millis(0)});
  SeriesRef ref = store.NewAppender().GetOrCreate(Labels::FromPairs({{"__name__", "x"}}));
  auto app = store.NewAppender();
  for (int64_t t = 0; t <= 100; t += 10) app.Append(ref, t, static_cast<double>(t));
  app.Commit();
  struct Case {
    int64_t mint, maxt;
    std::vector<int64_t> want;
  };
  const std::vector<Case> cases = {
      {0, 30, {10, 20, 30}}, {-1, 0, {0}},
      {100, 200, {}},        {95, 100, {100}},
      {31, 39, {}},          {50, 50, {}},
      {60, 50, {}},          {kMin, kMax, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}},
  };
  auto view = store.NewView();
  std::vector<Sample> out;
  for (const Case& c : cases) {
    INFO("(" << c.mint << ", " << c.maxt << "]");
    view.Samples(ref, c.mint, c.maxt, &out);
    CHECK(Times(out) == c.want);
  }
}

TEST_CASE("Store: retention bounds what a live series holds and 0 keeps everything") {
  SECTION("10m retention keeps at least the last 10m, and not much more") {
    Store store(StoreOptions{Duration::Minutes(10)});
    SeriesRef ref = store.NewAppender().GetOrCreate(Labels::FromPairs({{"__name__", "x"}}));
    for (int64_t t = 0; t <= 3'600'000; t += 15'000) {
      auto app = store.NewAppender();
      app.Append(ref, t, 1);
      app.Commit();
    }
    auto got = All(store, ref);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().t_ms == 3'600'000);
    CHECK(got.front().t_ms <= 3'000'000);           // everything from newest - retention
    CHECK(got.front().t_ms > 3'000'000 - 150'000);  // plus at most a quarter more
    CHECK(store.Stats().samples == got.size());
  }
  SECTION("retention 0: a day of samples is all there") {
    Store store(StoreOptions{Duration::Millis(0)});
    SeriesRef ref = store.NewAppender().GetOrCreate(Labels::FromPairs({{"__name__", "x"}}));
    auto app = store.NewAppender();
    for (int64_t t = 0; t < 86'400'000; t += 60'000) app.Append(ref, t, static_cast<double>(t));
    app.Commit();
    CHECK(All(store, ref).size() == 1440);
    CHECK(store.Collect(10 * 86'400'000LL) == 0);
    CHECK(All(store, ref).size() == 1440);
  }
  SECTION("SetRetention applies to what is appended next") {
    Store store(StoreOptions{Duration::Millis(0)});
    SeriesRef ref = store.NewAppender().GetOrCreate(Labels::FromPairs({{"__name__", "x"}}));
    auto app = store.NewAppender();
    for (int64_t t = 0; t < 3'600'000; t += 15'000) app.Append(ref, t, 1);
    app.Commit();
    CHECK(All(store, ref).size() == 240);
    store.SetRetention(Duration::Minutes(5));
    for (int64_t t = 3'600'000; t < 4'200'000; t += 15'000) app.Append(ref, t, 1);
    app.Commit();
    auto got = All(store, ref);
    CHECK(got.front().t_ms <= 4'185'000 - 300'000);
    CHECK(got.size() < 40);
  }
}

TEST_CASE("Store: Collect drops ended series and old samples and dropped refs are detected") {
  Store store(StoreOptions{Duration::Minutes(15)});
  const Labels live_l = Labels::FromPairs({{"__name__", "up"}, {"pod", "live"}});
  const Labels gone_l = Labels::FromPairs({{"__name__", "up"}, {"pod", "gone"}});
  const Labels stale_l = Labels::FromPairs({{"__name__", "up"}, {"pod", "stale"}});
  auto app = store.NewAppender();
  SeriesRef live = app.GetOrCreate(live_l);
  SeriesRef gone = app.GetOrCreate(gone_l);
  SeriesRef stale = app.GetOrCreate(stale_l);
  const int64_t m = 60'000;
  for (int64_t t = 0; t <= 60 * m; t += m) app.Append(live, t, 1);
  app.Append(gone, 0, 1);
  app.Append(gone, 10 * m, 1);  // then silence
  app.Append(stale, 10 * m, 1);
  app.Append(stale, 20 * m, amas::core::StaleNaN());
  app.Commit();

  CHECK(store.Collect(24 * m) == 0);      // gone's last sample (10m) is still in (9m, 24m]
  CHECK(store.Collect(25 * m + 1) == 1);  // now gone has none left in the window
  CHECK_FALSE(app.Append(gone, 61 * m, 1));
  CHECK(store.NewView().labels(gone).empty());
  CHECK(store.Collect(35 * m) == 0);  // stale's marker at 20m is in the window
  CHECK(store.Collect(35 * m + 1) == 1);
  CHECK_FALSE(app.Append(stale, 61 * m, 1));

  // live lost its old samples but stayed.
  auto got = All(store, live);
  CHECK(got.front().t_ms >= 20 * m);
  CHECK(got.back().t_ms == 60 * m);
  CHECK(store.Stats().series == 1);
  CHECK(store.Stats().samples == got.size());

  // The same labels come back as a new series; the old ref stays dead.
  SeriesRef again = app.GetOrCreate(gone_l);
  CHECK(again.valid());
  CHECK_FALSE(again == gone);
  CHECK_FALSE(app.Append(gone, 62 * m, 1));
  CHECK(app.Append(again, 62 * m, 1));
  CHECK(app.Commit().appended == 1);
  CHECK(All(store, again).size() == 1);
  CHECK(All(store, gone).empty());
  auto sel = store.NewView().Select(std::vector<Matcher>{M("pod", Type::kEqual, "gone")});
  CHECK(*sel == std::vector<SeriesRef>{again});
  CHECK(store.NewView().LabelValues("pod") == std::vector<std::string>{"gone", "live"});
}

TEST_CASE("Store: a ref collected between Append and Commit counts as stale_series") {
  Store store(StoreOptions{Duration::Minutes(5)});
  SeriesRef ref = AddSeries(&store, Labels::FromPairs({{"__name__", "x"}}), 0, 1);
  auto app = store.NewAppender();
  CHECK(app.Append(ref, 1000, 2));
  CHECK(store.Collect(10 * 60'000) == 1);
  AppendStats st = app.Commit();
  CHECK(st.appended == 0);
  CHECK(st.stale_series == 1);
}

TEST_CASE("Store: a series created without samples survives one Collect but not two") {
  Store store(StoreOptions{Duration::Minutes(5)});
  auto app = store.NewAppender();
  SeriesRef ref = app.GetOrCreate(Labels::FromPairs({{"__name__", "x"}}));
  CHECK(app.Append(ref, 1'000'000, 1));
  CHECK(store.Collect(1'000'000) == 0);  // its first samples are in a batch not committed yet
  CHECK(app.Commit().appended == 1);
  CHECK(store.Collect(1'000'000) == 0);

  SeriesRef empty = app.GetOrCreate(Labels::FromPairs({{"__name__", "y"}}));
  CHECK(store.Collect(1'000'000) == 0);
  CHECK(store.Collect(1'000'000) == 1);
  CHECK_FALSE(app.Append(empty, 1, 1));
  CHECK(app.Append(ref, 1'000'001, 1));
}

TEST_CASE("Store: a freed slot is reused with a new generation and the index follows") {
  Store store(StoreOptions{Duration::Minutes(1)});
  std::vector<SeriesRef> first;
  for (int i = 0; i < 100; ++i) {
    first.push_back(AddSeries(
        &store, Labels::FromPairs({{"__name__", "m"}, {"i", std::to_string(i)}, {"gen", "1"}}), 0,
        1));
  }
  CHECK(store.Collect(120'000) == 100);
  CHECK(store.Stats().series == 0);
  CHECK(store.NewView().LabelNames().empty());
  std::vector<SeriesRef> second;
  for (int i = 0; i < 150; ++i) {
    second.push_back(AddSeries(
        &store, Labels::FromPairs({{"__name__", "m"}, {"i", std::to_string(i)}, {"gen", "2"}}),
        200'000, 1));
  }
  for (const SeriesRef& old : first) {
    CHECK(std::none_of(second.begin(), second.end(), [&](SeriesRef r) { return r == old; }));
    CHECK(store.NewView().labels(old).empty());
  }
  auto view = store.NewView();
  auto sel = view.Select(
      std::vector<Matcher>{M("gen", Type::kEqual, "2"), M("i", Type::kRegexMatch, "1.")});
  REQUIRE(sel.ok());
  CHECK(sel->size() == 10);
  for (SeriesRef r : *sel) CHECK(view.labels(r).Get("gen") == "2");
  CHECK(view.Select(std::vector<Matcher>{M("gen", Type::kEqual, "1")})->empty());
  CHECK(view.LabelValues("gen") == std::vector<std::string>{"2"});
}

TEST_CASE(
    "Store: Select with every matcher type and Prometheus's empty-value semantics returns sorted "
    "series") {
  Store store;
  auto app = store.NewAppender();
  const std::vector<Labels> series = {
      Labels::FromPairs({{"__name__", "http"}, {"code", "200"}, {"job", "api"}}),
      Labels::FromPairs({{"__name__", "http"}, {"code", "500"}, {"job", "api"}}),
      Labels::FromPairs({{"__name__", "http"}, {"code", "503"}, {"job", "web"}}),
      Labels::FromPairs({{"__name__", "http"}, {"job", "web"}}),  // no code
      Labels::FromPairs({{"__name__", "http_total"}, {"code", "200"}, {"job", "ab"}}),
      Labels::FromPairs({{"__name__", "up"}, {"job", "a"}}),
      Labels::FromPairs({{"__name__", "up"}, {"job", "b"}}),
  };
  for (const Labels& l : series) app.Append(app.GetOrCreate(l), 1, 1);
  app.Commit();

  struct Case {
    std::vector<Matcher> matchers;
    std::vector<std::string> want;  // in order
  };
  const std::vector<Case> cases = {
      {{M("__name__", Type::kEqual, "http")},
       {"http{code=\"200\", job=\"api\"}", "http{code=\"500\", job=\"api\"}",
        "http{code=\"503\", job=\"web\"}", "http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "nope")}, {}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kEqual, "")}, {"http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kNotEqual, "200")},
       {"http{code=\"500\", job=\"api\"}", "http{code=\"503\", job=\"web\"}", "http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kNotEqual, "")},
       {"http{code=\"200\", job=\"api\"}", "http{code=\"500\", job=\"api\"}",
        "http{code=\"503\", job=\"web\"}"}},
      {{M("code", Type::kRegexMatch, "5..")},
       {"http{code=\"500\", job=\"api\"}", "http{code=\"503\", job=\"web\"}"}},
      {{M("code", Type::kRegexMatch, "5")}, {}},  // anchored: "5" is not "500"
      {{M("__name__", Type::kRegexMatch, "http")},
       {"http{code=\"200\", job=\"api\"}", "http{code=\"500\", job=\"api\"}",
        "http{code=\"503\", job=\"web\"}", "http{job=\"web\"}"}},
      {{M("__name__", Type::kRegexMatch, "http.*"), M("code", Type::kEqual, "200")},
       {"http{code=\"200\", job=\"api\"}", "http_total{code=\"200\", job=\"ab\"}"}},
      {{M("job", Type::kRegexMatch, "a")}, {"up{job=\"a\"}"}},  // not "ab", not "api"
      {{M("job", Type::kRegexMatch, "a|b")}, {"up{job=\"a\"}", "up{job=\"b\"}"}},
      {{M("job", Type::kRegexMatch, "a.*"), M("__name__", Type::kNotEqual, "http")},
       {"http_total{code=\"200\", job=\"ab\"}", "up{job=\"a\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kRegexMatch, "2..|")},
       {"http{code=\"200\", job=\"api\"}", "http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kRegexNoMatch, "5..")},
       {"http{code=\"200\", job=\"api\"}", "http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kRegexNoMatch, ".+")},
       {"http{job=\"web\"}"}},
      {{M("__name__", Type::kEqual, "http"), M("code", Type::kRegexMatch, ".*")},
       {"http{code=\"200\", job=\"api\"}", "http{code=\"500\", job=\"api\"}",
        "http{code=\"503\", job=\"web\"}", "http{job=\"web\"}"}},
      {{M("code", Type::kRegexMatch, ".+"), M("job", Type::kRegexMatch, "[aw].+")},
       {"http{code=\"200\", job=\"api\"}", "http{code=\"500\", job=\"api\"}",
        "http{code=\"503\", job=\"web\"}", "http_total{code=\"200\", job=\"ab\"}"}},
      {{M("code", Type::kRegexNoMatch, ""), M("job", Type::kEqual, "web")},
       {"http{code=\"503\", job=\"web\"}"}},
      {{M("missing", Type::kRegexMatch, ".+")}, {}},
      {{M("missing", Type::kEqual, ""), M("job", Type::kEqual, "a")}, {"up{job=\"a\"}"}},
      {{M("job", Type::kEqual, "api"), M("job", Type::kEqual, "web")}, {}},
  };
  for (const Case& c : cases) {
    std::string desc;
    for (const Matcher& m : c.matchers) desc += m.ToString() + " ";
    INFO(desc);
    CHECK(SelectStrings(store, c.matchers) == c.want);
  }
}

TEST_CASE("Store: Select needs one matcher that does not match the empty string") {
  Store store;
  AddSeries(&store, Labels::FromPairs({{"__name__", "x"}}), 1, 1);
  auto view = store.NewView();
  const std::vector<std::vector<Matcher>> bad = {
      {},
      {M("job", Type::kEqual, "")},
      {M("job", Type::kRegexMatch, ".*")},
      {M("job", Type::kNotEqual, "x"), M("job", Type::kRegexNoMatch, ".+")},
      {M("__name__", Type::kRegexMatch, "x|")},
  };
  for (const auto& ms : bad) {
    auto r = view.Select(ms);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
    CHECK(r.status().message() == "vector selector must contain at least one non-empty matcher");
  }
}

TEST_CASE("Store: LabelNames and LabelValues are sorted and follow the live set") {
  Store store(StoreOptions{Duration::Minutes(1)});
  AddSeries(&store, Labels::FromPairs({{"__name__", "b"}, {"zone", "z1"}, {"env", "prod"}}), 0, 1);
  AddSeries(&store, Labels::FromPairs({{"__name__", "a"}, {"zone", "z0"}}), 100'000, 1);
  auto check = [&](std::vector<std::string> names, std::vector<std::string> zones) {
    auto view = store.NewView();
    CHECK(view.LabelNames() == names);
    CHECK(view.LabelValues("zone") == zones);
    CHECK(view.LabelValues("nope").empty());
  };
  check({"__name__", "env", "zone"}, {"z0", "z1"});
  CHECK(store.NewView().LabelValues("__name__") == std::vector<std::string>{"a", "b"});
  CHECK(store.Collect(100'000) == 1);
  check({"__name__", "zone"}, {"z0"});
}

TEST_CASE("Store: Select over many series agrees with a brute-force scan") {
  Store store(StoreOptions{Duration::Minutes(1)});
  auto app = store.NewAppender();
  std::vector<Labels> all;
  for (int i = 0; i < 3000; ++i) {
    auto l = Labels::FromPairs({{"__name__", i % 3 ? "req" : "err"},
                                {"pod", "p" + std::to_string(i % 97)},
                                {"code", std::to_string(200 + 100 * (i % 4))},
                                {"le", i % 5 ? std::to_string(i % 11) : ""},
                                {"n", std::to_string(i)}});
    all.push_back(l);
    app.Append(app.GetOrCreate(l), i % 2 ? 0 : 100'000, 1);
  }
  app.Commit();
  // Drop the half with samples at 0 and add new series into the freed slots,
  // so postings lists get unsorted tails.
  CHECK(store.Collect(100'000) == 1500);
  for (int i = 0; i < 1500; ++i) {
    auto l = Labels::FromPairs({{"__name__", "new"},
                                {"pod", "p" + std::to_string(i % 13)},
                                {"code", "200"},
                                {"n", std::to_string(i)}});
    all.push_back(l);
    app.Append(app.GetOrCreate(l), 100'000, 1);
  }
  app.Commit();
  const std::vector<std::vector<Matcher>> queries = {
      {M("__name__", Type::kEqual, "req"), M("code", Type::kRegexMatch, "[45]00")},
      {M("pod", Type::kRegexMatch, "p1.*"), M("le", Type::kEqual, "")},
      {M("code", Type::kEqual, "200"), M("pod", Type::kRegexMatch, "p(1|2)"),
       M("__name__", Type::kNotEqual, "err")},
      {M("le", Type::kRegexMatch, ".+"), M("pod", Type::kRegexNoMatch, "p.*7")},
      {M("pod", Type::kRegexMatch, "p3|p5|p12")},
      {M("__name__", Type::kEqual, "new")},
  };
  auto view = store.NewView();
  for (const auto& ms : queries) {
    std::vector<std::string> want;
    std::vector<Labels> live;
    for (size_t i = 0; i < all.size(); ++i) {
      const bool alive = i >= 3000 || i % 2 == 0;
      if (!alive) continue;
      if (std::all_of(ms.begin(), ms.end(),
                      [&](const Matcher& m) { return m.Matches(all[i].Get(m.name())); })) {
        live.push_back(all[i]);
      }
    }
    std::sort(live.begin(), live.end());
    for (const Labels& l : live) want.push_back(l.ToString());
    std::string desc;
    for (const Matcher& m : ms) desc += m.ToString() + " ";
    INFO(desc);
    auto got = SelectStrings(store, ms);
    CHECK(got.size() == want.size());
    CHECK(got == want);
  }
}

TEST_CASE("Store: readers and two appenders and Collect run concurrently") {
  // Meant for the sanitizer builds: any race or lifetime error shows up there.
  Store store(StoreOptions{Duration::Seconds(30)});
  std::atomic<int> writing{2};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> now{0};
  std::atomic<size_t> reads{0};
  std::atomic<size_t> errors{0};
  auto write = [&](const std::string& name) {
    auto app = store.NewAppender();
    std::vector<SeriesRef> refs(200);
    SeriesRef shared;  // both writers append here: the later batch finds its times taken
    for (int64_t round = 0; round < 300; ++round) {
      const int64_t t = round * 1000;
      for (int i = 0; i < 200; ++i) {
        // Half the series churn: new pod names every 50 rounds.
        const std::string pod = i % 2 ? "p" + std::to_string(i)
                                      : "p" + std::to_string(i) + "-" + std::to_string(round / 50);
        if (!app.Append(refs[i], t, static_cast<double>(round))) {
          refs[i] = app.GetOrCreate(Labels::FromPairs({{"__name__", name}, {"pod", pod}}));
          app.Append(refs[i], t, static_cast<double>(round));
        }
        if (i % 2 == 0 && round % 50 == 0) {
          refs[i] = app.GetOrCreate(Labels::FromPairs({{"__name__", name}, {"pod", pod}}));
        }
      }
      if (!app.Append(shared, t, 1)) {
        shared = app.GetOrCreate(Labels::FromPairs({{"__name__", "shared"}}));
        app.Append(shared, t, 1);
      }
      app.Commit();
      now.store(t);
    }
    if (writing.fetch_sub(1) == 1) {
      // Fast writers can finish before a reader got a turn: let them read
      // (bounded, so readers that never succeed fail the test, not hang it).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (reads.load() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      stop.store(true);
    }
  };
  std::thread writer_m(write, "m");
  std::thread writer_n(write, "n");
  std::thread collector([&] {
    while (!stop.load()) {
      store.Collect(now.load());
      (void)store.Stats();
      std::this_thread::yield();
    }
  });
  // Catch2's assertions are not thread-safe: threads count, the test checks.
  std::vector<std::thread> readers;
  const std::vector<Matcher> ms = {M("__name__", Type::kEqual, "m"),
                                   M("pod", Type::kRegexMatch, "p1.*")};
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::vector<Sample> out;
      while (!stop.load()) {
        auto view = store.NewView();
        auto refs = view.Select(ms);
        if (!refs.ok()) errors.fetch_add(1);
        if (!refs.ok()) continue;
        for (SeriesRef ref : *refs) {
          const int64_t t = now.load();
          view.Samples(ref, t - 30'000, t, &out);
          for (size_t i = 1; i < out.size(); ++i) {
            if (out[i - 1].t_ms >= out[i].t_ms) errors.fetch_add(1);
          }
          if (view.labels(ref).Name() != "m") errors.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  writer_m.join();
  writer_n.join();
  collector.join();
  for (auto& t : readers) t.join();
  CHECK(reads.load() > 0);
  CHECK(errors.load() == 0);
  CHECK(store.Stats().series >= 200);
}

TEST_CASE("Store: a nested View does not deadlock behind a waiting writer") {
  Store store;
  SeriesRef ref = AddSeries(&store, Labels::FromPairs({{"__name__", "x"}}), 1, 1);
  std::atomic<bool> committed{false};
  std::thread writer;
  {
    auto outer = store.NewView();
    writer = std::thread([&] {
      auto app = store.NewAppender();
      app.Append(ref, 2, 2);
      app.Commit();  // waits for outer
      committed.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the writer queue up
    auto inner = store.NewView();  // same thread: must not wait for the writer
    CHECK(inner.labels(ref).Name() == "x");
    CHECK_FALSE(committed.load());
  }
  writer.join();
  CHECK(committed.load());
  CHECK(All(store, ref).size() == 2);
}

TEST_CASE("Store: GetOrCreate from a moved Labels keeps the labels and finds the series again") {
  Store store;
  auto app = store.NewAppender();
  const Labels l =
      Labels::FromPairs({{"__name__", "m"}, {"pod", "a-very-long-pod-name-0123456789"}});
  Labels moved = l;
  SeriesRef ref = app.GetOrCreate(std::move(moved));
  REQUIRE(ref.valid());
  CHECK(store.NewView().labels(ref) == l);
  Labels again = l;
  CHECK(app.GetOrCreate(std::move(again)) == ref);
  CHECK(again == l);  // found, not created: nothing was taken from it
  CHECK(app.GetOrCreate(l) == ref);
  CHECK_FALSE(app.GetOrCreate(Labels()).valid());
  CHECK(SelectStrings(store, {M("pod", Type::kEqual, "a-very-long-pod-name-0123456789")}) ==
        std::vector<std::string>{"m{pod=\"a-very-long-pod-name-0123456789\"}"});
}

TEST_CASE("Store: ReserveSeries only makes room: series made after it are found and selected") {
  Store store(StoreOptions{Duration::Minutes(1)});
  SeriesRef before = AddSeries(&store, Labels::FromPairs({{"__name__", "m"}, {"i", "x"}}), 0, 1);
  auto app = store.NewAppender();
  app.ReserveSeries(50'000);
  app.ReserveSeries(0);
  std::vector<Labels> batch;
  for (int i = 0; i < 2000; ++i) {
    batch.push_back(Labels::FromPairs({{"__name__", "m"}, {"i", std::to_string(i)}}));
  }
  std::vector<SeriesRef> refs(batch.size());
  app.GetOrCreateAll(batch, refs);
  CHECK(app.GetOrCreate(Labels::FromPairs({{"__name__", "m"}, {"i", "x"}})) == before);
  CHECK(app.GetOrCreate(Labels::FromPairs({{"__name__", "m"}, {"i", "1999"}})) == refs[1999]);
  auto all = store.NewView().Select(std::vector<Matcher>{M("__name__", Type::kEqual, "m")});
  REQUIRE(all.ok());
  CHECK(all->size() == 2001);
}

TEST_CASE("Store: GetOrCreateAll creates a batch at once, equal sets sharing a series") {
  Store store(StoreOptions{Duration::Minutes(1)});
  SeriesRef known = AddSeries(&store, Labels::FromPairs({{"__name__", "m"}, {"i", "known"}}), 0, 1);
  std::vector<Labels> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back(Labels::FromPairs(
        {{"__name__", "m"}, {"i", std::to_string(i)}, {"odd", i % 2 ? "1" : "0"}}));
  }
  batch.push_back(Labels::FromPairs({{"__name__", "m"}, {"i", "known"}}));  // exists already
  batch.push_back(Labels::FromPairs({{"__name__", "m"}, {"i", "7"}, {"odd", "1"}}));  // twice
  batch.emplace_back();  // empty: an invalid ref
  const std::vector<Labels> expected = batch;
  std::vector<SeriesRef> refs(batch.size());
  auto app = store.NewAppender();
  app.GetOrCreateAll(batch, refs);
  CHECK(refs[300] == known);
  CHECK(refs[301] == refs[7]);
  CHECK_FALSE(refs[302].valid());
  {
    auto view = store.NewView();
    for (size_t i = 0; i < 302; ++i) {
      REQUIRE(refs[i].valid());
      CHECK(view.labels(refs[i]) == expected[i]);
    }
  }
  // Selectable at once, before any sample, like GetOrCreate.
  CHECK(SelectStrings(store, {M("i", Type::kEqual, "299")}) ==
        std::vector<std::string>{"m{i=\"299\", odd=\"1\"}"});
  auto odd = store.NewView().Select(std::vector<Matcher>{M("odd", Type::kEqual, "1")});
  REQUIRE(odd.ok());
  CHECK(odd->size() == 150);

  // Samples for the even ones only; the odd ones are collected, and the index
  // forgets them while the others stay selectable.
  for (size_t i = 0; i < 300; i += 2) CHECK(app.Append(refs[i], 1000, 1));
  CHECK(app.Commit().appended == 150);
  CHECK(store.Collect(1000) == 0);  // spared once: samples may be on the way
  CHECK(store.Collect(1000) == 150);
  CHECK(SelectStrings(store, {M("odd", Type::kEqual, "1")}).empty());
  auto even = store.NewView().Select(std::vector<Matcher>{M("odd", Type::kEqual, "0")});
  REQUIRE(even.ok());
  CHECK(even->size() == 150);
  CHECK(store.NewView().LabelValues("odd") == std::vector<std::string>{"0"});

  // The same labels again: new series in the freed slots, indexed again.
  std::vector<Labels> again(expected.begin(), expected.begin() + 300);
  std::vector<SeriesRef> refs2(again.size());
  auto app2 = store.NewAppender();
  app2.GetOrCreateAll(again, refs2);
  for (size_t i = 0; i < 300; ++i) {
    if (i % 2 == 0) {
      CHECK(refs2[i] == refs[i]);
    } else {
      CHECK_FALSE(refs2[i] == refs[i]);  // a new generation
      CHECK_FALSE(app2.Append(refs[i], 2000, 1));
      CHECK(app2.Append(refs2[i], 2000, 1));
    }
  }
  CHECK(app2.Commit().appended == 150);
  auto odd2 = store.NewView().Select(std::vector<Matcher>{M("odd", Type::kEqual, "1")});
  REQUIRE(odd2.ok());
  CHECK(odd2->size() == 150);
  CHECK(SelectStrings(store, {M("i", Type::kRegexMatch, "(1|3)")}) ==
        std::vector<std::string>{"m{i=\"1\", odd=\"1\"}", "m{i=\"3\", odd=\"1\"}"});
}
