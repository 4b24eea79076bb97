// scrape_test_util.h: small helpers shared by the sources tests.
#ifndef AMAS_TEST_SOURCES_SCRAPE_TEST_UTIL_H_
#define AMAS_TEST_SOURCES_SCRAPE_TEST_UTIL_H_

#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/core.h"
#include "fixture_server.h"
#include "sources/sources.h"
#include "store/store.h"

namespace amas::testing {

class ManualClock : public core::Clock {
 public:
  explicit ManualClock(int64_t ms) : ms_(ms) {}
  core::Time Now() const override { return core::Time::FromUnixMillis(ms_.load()); }
  void Set(int64_t ms) { ms_ = ms; }
  void Advance(core::Duration d) { ms_ += d.millis(); }
  int64_t ms() const { return ms_.load(); }

 private:
  std::atomic<int64_t> ms_;
};

// Canned answers per path, changeable while the server runs.
class CannedServer {
 public:
  CannedServer()
      : server_([this](const FixtureRequest& r) {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = responses_.find(r.path);
          if (it == responses_.end()) {
            FixtureResponse nf;
            nf.status = 404;
            nf.body = "not found";
            return nf;
          }
          return it->second;
        }) {}
  void Set(const std::string& path, FixtureResponse r) {
    std::lock_guard<std::mutex> lock(mu_);
    responses_[path] = std::move(r);
  }
  void SetBody(const std::string& path, std::string body) {
    FixtureResponse r;
    r.body = std::move(body);
    Set(path, std::move(r));
  }
  FixtureServer& server() { return server_; }
  std::string address() const { return server_.address(); }

 private:
  std::mutex mu_;
  std::map<std::string, FixtureResponse> responses_;
  FixtureServer server_;  // last: stops before the map goes
};

inline sources::ScrapeConfig Job(const std::string& name, const std::string& address,
                                 const std::string& path = "/metrics") {
  sources::ScrapeConfig c;
  c.job_name = name;
  c.metrics_path = path;
  c.scrape_interval = core::Duration::Seconds(15);
  c.scrape_timeout = core::Duration::Seconds(5);
  c.static_configs.push_back({{address}, {}});
  return c;
}

inline sources::TargetHealth HealthOf(const sources::ScrapeManager& m, const std::string& job) {
  for (const sources::TargetHealth& h : m.Targets()) {
    if (h.scrape_pool == job) return h;
  }
  return {};
}

// Every sample (stale markers included) of the series with exactly these labels.
inline std::vector<store::Sample> SamplesOf(const store::Store& s, const core::Labels& labels) {
  std::vector<store::Matcher> matchers;
  for (core::Label l : labels) {
    matchers.push_back(*store::Matcher::Make(store::Matcher::Type::kEqual, std::string(l.name),
                                             std::string(l.value)));
  }
  store::View v = s.NewView();
  core::Result<std::vector<store::SeriesRef>> refs = v.Select(matchers);
  std::vector<store::Sample> out;
  if (!refs.ok()) return out;
  for (store::SeriesRef ref : *refs) {
    if (!(v.labels(ref) == labels)) continue;
    v.Samples(ref, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &out);
  }
  return out;
}

// Label sets of all series whose name is `name`.
inline std::vector<core::Labels> SeriesNamed(const store::Store& s, const std::string& name) {
  std::vector<store::Matcher> m{
      *store::Matcher::Make(store::Matcher::Type::kEqual, "__name__", name)};
  store::View v = s.NewView();
  std::vector<core::Labels> out;
  core::Result<std::vector<store::SeriesRef>> refs = v.Select(m);
  if (!refs.ok()) return out;
  for (store::SeriesRef ref : *refs) out.push_back(v.labels(ref));
  return out;
}

}  // namespace amas::testing

#endif  // AMAS_TEST_SOURCES_SCRAPE_TEST_UTIL_H_
