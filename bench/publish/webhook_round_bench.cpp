// What outbound webhooks cost an evaluation round. A round hands its events
// to WebhookSender::Send, which only queues them; delivery runs on the
// sender's own threads. This bench makes rounds of 20 events (a burst of
// recommendation changes and actions) every 10 ms against a local endpoint
// that answers at once, one that takes 2 s per POST, one that never answers
// (5 s client timeout), and the slow one with a full queue spilling to the
// dead-letter file, and reports how long the round spent in Send:
// p50 / p99 / max over the rounds, beside rounds with no webhook at all.
//
//   webhook_round_bench [ROUNDS=300]
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"
#include "publish/webhooks.h"

namespace {

using namespace amas;
using Clock = std::chrono::steady_clock;

class WallClock : public core::Clock {
 public:
  core::Time Now() const override {
    return core::Time::FromUnixMillis(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
};

publish::ScaleEvent Event(int i) {
  publish::ScaleEvent e;
  e.kind = i % 2 == 0 ? "recommendation" : "action_succeeded";
  e.target = "backend-" + std::to_string(i % 5);
  e.from = 4;
  e.to = 6;
  e.reason = "cpu above 0.8 for 2m";
  e.rule_values = {{"cpu_high", 0.93}, {"queue_long", 1}};
  return e;
}

struct Figures {
  double p50_us, p99_us, max_us;
};

// Rounds of 20 Send calls every 10 ms; the time each round spent in Send.
Figures Rounds(publish::WebhookSender* sender, int rounds) {
  std::vector<double> took;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    if (sender != nullptr) {
      for (int i = 0; i < 20; ++i) sender->Send(Event(i));
    }
    took.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::sort(took.begin(), took.end());
  return {took[took.size() / 2], took[took.size() * 99 / 100], took.back()};
}

// A listening socket that accepts nothing: connections sit in the backlog
// and POSTs never get an answer.
int BlackHole(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 300;
  http::Router router;
  router.Handle("POST", "/fast",
                [](const http::Request&) { return http::Response::Text(200, ""); });
  router.Handle("POST", "/slow", [](const http::Request&) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    return http::Response::Text(200, "");
  });
  auto server = http::Server::Start(http::ServerOptions{}, &router);
  if (!server.ok()) {
    std::fprintf(stderr, "endpoint: %s\n", server.status().message().c_str());
    return 1;
  }
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  int hole_port = 0;
  const int hole = BlackHole(&hole_port);
  if (hole < 0) return 1;
  const std::string dead_letters =
      (std::filesystem::temp_directory_path() / ("webhook-bench-" + std::to_string(getpid())))
          .string();

  WallClock clock;
  std::printf("%d rounds of 20 events, 10 ms apart; time spent in Send per round\n", rounds);
  std::printf("%-44s %10s %10s %10s %9s %12s\n", "endpoint", "p50 us", "p99 us", "max us", "sent",
              "dead letters");
  auto run = [&](const char* what, std::string url, size_t max_queue, std::string dead) {
    publish::WebhookEndpoint e;
    e.name = "bench";
    e.url = std::move(url);
    e.secret = "s3cret";
    e.max_queue = max_queue;
    e.max_attempts = 1;
    e.dead_letter_path = std::move(dead);
    auto sender = publish::WebhookSender::Create({e}, &clock);
    if (!sender.ok()) {
      std::fprintf(stderr, "%s\n", sender.status().message().c_str());
      std::exit(1);
    }
    const Figures f = Rounds(sender->get(), rounds);
    const publish::WebhookStats s = (*sender)->Stats()[0];
    std::printf("%-44s %10.1f %10.1f %10.1f %9llu %12llu\n", what, f.p50_us, f.p99_us, f.max_us,
                static_cast<unsigned long long>(s.sent),
                static_cast<unsigned long long>(s.dead_letters));
    std::fflush(stdout);
    // Destroying the sender stops its thread; a slow POST in flight ends
    // first (at most its 5 s timeout), which is not part of any round.
  };
  const Figures none = Rounds(nullptr, rounds);
  std::printf("%-44s %10.1f %10.1f %10.1f %9s %12s\n", "no webhook", none.p50_us, none.p99_us,
              none.max_us, "-", "-");
  run("answers at once", base + "/fast", 100000, "");
  run("2 s per POST (queue 100000)", base + "/slow", 100000, "");
  run("never answers, 5 s timeout (queue 100000)",
      "http://127.0.0.1:" + std::to_string(hole_port) + "/", 100000, "");
  run("2 s per POST, queue 100 full, dead-letter file", base + "/slow", 100, dead_letters);
  std::filesystem::remove(dead_letters);
  close(hole);
  return 0;
}
