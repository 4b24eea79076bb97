// scrape_bench: how fast a scrape turns an exposition into store appends.
//   (a) repeated scrape: parse + scrape-cache lookup + store append
//   (b) first scrape: parse + labels + relabel + interning every series
//   (c) full scrape over loopback HTTP (HTTP + parse + append), ScrapeManager
// plus a breakdown (parser alone, parser + series bytes) to show where time goes.
// Usage: scrape_bench FILE [--repeat N] [--only parse|a|b|b1|bf|c]
//        [--url http://host:port/metrics] [--serve /path/to/serve_metrics.py]
// Prints wall time (best and median) and this thread's CPU time: on a shared
// machine the CPU figure is the steadier one.
// Without --url it starts `python3 serve_metrics.py --static FILE` on a free
// loopback port for (c), and stops it by PID.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "expo/expo.h"
#include "sources/sources.h"
#include "sources/target_scrape.h"
#include "store/store.h"

namespace {

using namespace amas;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of this thread: on a shared machine it is steadier than wall time.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One measured run: wall and thread-CPU seconds.
struct Run {
  Clock::time_point wall0 = Clock::now();
  double cpu0 = ThreadCpuSeconds();
  double wall() const { return Seconds(Clock::now() - wall0); }
  double cpu() const { return ThreadCpuSeconds() - cpu0; }
};

struct Samples {
  std::vector<double> wall, cpu;
  void Add(const Run& r) {
    wall.push_back(r.wall());
    cpu.push_back(r.cpu());
  }
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// "label  wall min / median, cpu median, MB/s by cpu and by best wall"
void Print(const char* label, const Samples& s, size_t bytes) {
  const double mb = static_cast<double>(bytes) / 1e6;
  const double cpu = Median(s.cpu), wall_min = Min(s.wall), wall_med = Median(s.wall);
  std::printf("%-38s wall %7.1f ms (median %7.1f)  cpu %7.1f ms  %6.0f MB/s cpu  %6.0f MB/s wall\n",
              label, wall_min * 1e3, wall_med * 1e3, cpu * 1e3, mb / cpu, mb / wall_min);
}

class FixedClock : public core::Clock {
 public:
  core::Time Now() const override { return core::Time::FromUnixMillis(ms_); }
  void Advance(int64_t ms) { ms_ += ms; }

 private:
  int64_t ms_ = 1'800'000'000'000;
};

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// python3 serve_metrics.py --static FILE, stopped by PID on destruction.
class PythonServer {
 public:
  PythonServer(const std::string& script, const std::string& file) : port_(FreePort()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execlp("python3", "python3", script.c_str(), "--static", file.c_str(), "--port", port.c_str(),
             nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !CanConnect(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~PythonServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

void ParserOnly(const std::string& body, int repeat) {
  Samples plain, with_series;
  size_t lines = 0;
  uint64_t sink = 0;
  for (int r = 0; r < repeat; ++r) {
    Run run;
    expo::Parser p(body, expo::Format::kPrometheusText);
    lines = 0;
    for (expo::Entry e; (e = p.Next()) != expo::Entry::kEof;) {
      if (e == expo::Entry::kError) {
        std::fprintf(stderr, "parse error: %s\n", p.error().message().c_str());
        return;
      }
      if (e == expo::Entry::kSeries) {
        ++lines;
        sink += static_cast<uint64_t>(p.value());
      }
    }
    plain.Add(run);
    Run run2;
    expo::Parser q(body, expo::Format::kPrometheusText);
    for (expo::Entry e; (e = q.Next()) != expo::Entry::kEof;) {
      if (e == expo::Entry::kSeries)
        sink += core::Hash64(q.series()) + q.timestamp_ms().value_or(0);
    }
    with_series.Add(run2);
  }
  std::printf("%zu series\n", lines);
  Print("parser: Next()+value()", plain, body.size());
  Print("parser: + Hash64(series())", with_series, body.size());
  if (sink == 42) std::printf(" ");
}

// Where a first scrape's time goes, stage by stage (each a fresh pass with a
// fresh store), `repeat` times. Labels are built as the scrape builds them
// (views, target labels appended, a LabelsEncoder) and series created in
// batches of 512; the target labels here never clash with scraped ones.
void FirstScrapeBreakdown(const std::string& body, int repeat) {
  const core::Labels target =
      core::Labels::FromPairs({{"job", "bench"}, {"instance", "127.0.0.1:1"}});
  static const char* kNames[] = {
      "    first: parse + LabelViews()", "    first: + target labels + LabelsEncoder",
      "    first: + Store GetOrCreateAll", "    first: + Append + Commit"};
  for (int stage = 0; stage < 4; ++stage) {
    Samples s;
    uint64_t sink = 0;
    for (int r = 0; r < repeat; ++r) {
      store::Store store;
      store::Appender app = store.NewAppender();
      std::vector<core::Label> views;
      core::LabelsEncoder encoder;  // as ScrapeState's
      // Batches of 512 new series, as ScrapeState creates them.
      std::vector<core::Labels> batch;
      std::vector<double> values;
      std::vector<store::SeriesRef> refs;
      auto create = [&] {
        refs.resize(batch.size());
        app.GetOrCreateAll(batch, refs);
        for (size_t i = 0; i < refs.size(); ++i) {
          sink += refs[i].slot;
          if (stage == 3) app.Append(refs[i], 1'800'000'000'000, values[i]);
        }
        batch.clear();
        values.clear();
      };
      Run run;
      expo::Parser p(body, expo::Format::kPrometheusText);
      for (expo::Entry e; (e = p.Next()) != expo::Entry::kEof;) {
        if (e != expo::Entry::kSeries) continue;
        views.clear();
        if (!p.LabelViews(&views).ok()) return;
        if (stage == 0) continue;
        for (core::Label l : target) views.push_back(l);
        core::Labels labels = encoder.FromLabels(views);
        sink += labels.hash();
        if (stage == 1) continue;
        batch.push_back(std::move(labels));
        values.push_back(p.value());
        if (batch.size() == 512) create();
      }
      if (stage >= 2) create();
      if (stage == 3) app.Commit();
      s.Add(run);
    }
    Print(kNames[stage], s, body.size());
    if (sink == 42) std::printf(" ");
  }
}

sources::ScrapeOptions BenchOptions() {
  sources::ScrapeOptions options;
  options.target_labels = core::Labels::FromPairs({{"job", "bench"}, {"instance", "127.0.0.1:1"}});
  return options;
}

// (b): the first scrape of a fresh store, `repeat` times. The first run of the
// process also pays for fresh pages; later ones reuse the freed heap.
void FirstScrape(const std::string& body, int repeat) {
  Samples all, first_in_process;
  for (int r = 0; r < repeat; ++r) {
    store::Store store;
    sources::ScrapeState state(BenchOptions());
    sources::ScrapeInput in;
    in.body = body;
    in.t_ms = 1'800'000'000'000;
    Run run;
    const sources::ScrapeReport rep = state.Ingest(&store, in);
    all.Add(run);
    if (r == 0) first_in_process.Add(run);
    if (!rep.status.ok() || rep.series_added == 0) {
      std::fprintf(stderr, "first scrape failed: %s\n", rep.status.ToString().c_str());
      return;
    }
  }
  Print("(b) first scrape, first in process", first_in_process, body.size());
  Print("(b) first scrape (interns all)", all, body.size());
}

// (a): the same body again and again into one store, after a first scrape.
void RepeatedScrape(const std::string& body, int repeat) {
  store::Store store;
  sources::ScrapeState state(BenchOptions());
  int64_t t = 1'800'000'000'000;
  sources::ScrapeInput in;
  in.body = body;
  in.t_ms = t;
  sources::ScrapeReport rep = state.Ingest(&store, in);
  if (!rep.status.ok()) {
    std::fprintf(stderr, "first scrape failed: %s\n", rep.status.ToString().c_str());
    return;
  }
  Samples again;
  for (int r = 0; r < repeat; ++r) {
    t += 15'000;
    in.t_ms = t;
    Run run2;
    rep = state.Ingest(&store, in);
    again.Add(run2);
    if (!rep.status.ok() || rep.series_added != 0) {
      std::fprintf(stderr, "repeat scrape: %s, %zu added\n", rep.status.ToString().c_str(),
                   rep.series_added);
      return;
    }
  }
  Print("(a) repeated scrape (cache hits)", again, body.size());
  const store::StoreStats st = store.Stats();
  std::printf("    store: %zu series, %zu samples, %.1f MB\n", st.series, st.samples,
              static_cast<double>(st.bytes) / 1e6);
}

void OverHttp(const std::string& url, size_t body_size, int repeat) {
  store::Store store;
  FixedClock clock;
  sources::ScrapeConfig c;
  c.job_name = "bench";
  const std::string rest = url.substr(url.find("://") + 3);
  const size_t slash = rest.find('/');
  c.static_configs.push_back({{rest.substr(0, slash)}, {}});
  c.metrics_path = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  c.scrape_timeout = core::Duration::Seconds(10);
  auto m = sources::ScrapeManager::Create({c}, &store, &clock);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return;
  }
  Samples first, again;
  std::vector<double> reported;
  for (int r = 0; r <= repeat; ++r) {
    Run run;
    (*m)->ScrapeOnce();
    (r == 0 ? first : again).Add(run);
    clock.Advance(15'000);
    const sources::TargetHealth h = (*m)->Targets()[0];
    if (h.health != "up") {
      std::fprintf(stderr, "scrape failed: %s\n", h.last_error.c_str());
      return;
    }
    if (r > 0) reported.push_back(h.last_scrape_duration.seconds());
  }
  Print("(c) HTTP scrape, first (interns all)", first, body_size);
  Print("(c) HTTP scrape, repeated", again, body_size);
  std::printf("    scrape_duration_seconds: min %.3f s, median %.3f s\n", Min(reported),
              Median(reported));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s FILE [--repeat N] [--only parse|a|b|b1|bf|c] [--url URL] [--serve PY]\n"
                 "  FILE: python3 ../shared/bench/gen_exposition.py -o FILE\n",
                 argv[0]);
    return 2;
  }
  const std::string file = argv[1];
  int repeat = 10;
  std::string url;
  std::string only;  // parse, a, b or c; all when empty
  std::string serve = std::string(AMAS_SOURCE_DIR) + "/../shared/bench/serve_metrics.py";
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--url") == 0) url = argv[i + 1];
    if (std::strcmp(argv[i], "--serve") == 0) serve = argv[i + 1];
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  std::printf("body: %s, %.2f MB, repeat %d, single thread\n", file.c_str(),
              static_cast<double>(body.size()) / 1e6, repeat);

  const bool all = only.empty();
  if (all || only == "parse") ParserOnly(body, repeat);
  // The first scrape allocates ~0.3 GB per run: a few runs are enough.
  const int first_repeat = std::min(repeat, 5);
  if (all || only == "b" || only == "b1") FirstScrape(body, only == "b1" ? 1 : first_repeat);
  if (only == "bf") FirstScrape(body, repeat);
  if (all || only == "b") FirstScrapeBreakdown(body, first_repeat);
  if (all || only == "a") RepeatedScrape(body, repeat);
  if (!all && only != "c") return 0;  // parse, a, b, b1, bf
  if (!url.empty()) {
    OverHttp(url, body.size(), repeat);
  } else if (access(serve.c_str(), R_OK) == 0) {
    PythonServer server(serve, file);
    OverHttp("http://127.0.0.1:" + std::to_string(server.port()) + "/metrics", body.size(), repeat);
  } else {
    std::printf("(c) skipped: no %s (give --url or --serve)\n", serve.c_str());
  }
  return 0;
}
