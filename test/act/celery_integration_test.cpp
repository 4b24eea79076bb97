// Real Celery 5.2 workers (Debian python3-celery) on a real redis-server:
// the pools really grow and shrink, the queue reader sees the backlog, and
// a silent or absent worker leaves the target untouched and reported.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "act/celery_actuator.h"
#include "act/queue_length.h"
#include "act/redis_test_support.h"
#include "testing/testing.h"

namespace amas::act::celery {
namespace {

using amas::testing::CountChildren;
using amas::testing::Process;
using amas::testing::WaitUntil;
using std::chrono::milliseconds;

const std::string kAppDir = std::string(AMAS_SOURCE_DIR) + "/test/celery_app";

struct Broker {
  amas::testing::TempDir dir;
  int port = amas::testing::FreeRedisPort();
  std::unique_ptr<Process> server = amas::testing::StartRedis(port, dir.path());
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port) + "/0"; }
};

std::unique_ptr<Process> StartWorker(const Broker& broker, const std::string& name,
                                     const std::vector<std::string>& pool_args) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   "-m",
                                   "celery",
                                   "-A",
                                   "amas_test_app",
                                   "worker",
                                   "-P",
                                   "prefork",
                                   "-n",
                                   name,
                                   "-l",
                                   "WARNING",
                                   "--without-mingle",
                                   "--without-gossip",
                                   "--without-heartbeat"};
  argv.insert(argv.end(), pool_args.begin(), pool_args.end());
  return Process::Start(
      argv,
      {"AMAS_CELERY_BROKER=" + broker.url(), "PYTHONPATH=" + kAppDir, "PYTHONDONTWRITEBYTECODE=1"},
      broker.dir.path() + "/" + name + ".log", broker.dir.path());
}

void SendTasks(const Broker& broker, const std::string& queue, int count, double seconds,
               int priority = -1) {
  std::vector<std::string> argv = {
      "/usr/bin/python3",    kAppDir + "/amas_test_app.py", "send", queue,
      std::to_string(count), std::to_string(seconds)};
  if (priority >= 0) argv.push_back(std::to_string(priority));
  auto p = Process::Start(argv, {"AMAS_CELERY_BROKER=" + broker.url(), "PYTHONDONTWRITEBYTECODE=1"},
                          broker.dir.path() + "/send.log");
  REQUIRE(WaitUntil([&] { return !p->Running(); }, milliseconds(30000)));
}

// Tasks running on `worker`, asked through Celery's own client (not ours).
int ActiveTasks(const Broker& broker, const std::string& worker) {
  const std::string out = broker.dir.path() + "/active.out";
  std::remove(out.c_str());
  auto p = Process::Start(
      {"/usr/bin/python3", "-c",
       "from amas_test_app import app\n"
       "r = app.control.inspect(destination=['" +
           worker +
           "'], timeout=1).active() or {}\n"
           "print(len(r.get('" +
           worker + "', [])))\n"},
      {"AMAS_CELERY_BROKER=" + broker.url(), "PYTHONPATH=" + kAppDir, "PYTHONDONTWRITEBYTECODE=1"},
      out);
  if (!WaitUntil([&] { return !p->Running(); }, milliseconds(20000))) return -1;
  const std::string text = amas::testing::ReadFile(out);
  return text.empty() ? -1 : std::atoi(text.c_str());
}

amas::testing::RealSleeper sleeper;

std::unique_ptr<CeleryActuator> MakeActuator(const Broker& broker, const core::Clock& clock,
                                             std::vector<std::string> workers = {}) {
  CeleryOptions o;
  o.name = "celery-workers";
  o.broker = ParseBrokerUrl(broker.url()).value();
  o.workers = std::move(workers);
  o.clock = &clock;
  o.sleeper = &sleeper;
  auto a = CeleryActuator::Create(std::move(o));
  REQUIRE(a.ok());
  return std::move(a).value();
}

// Waits until `n` workers answer stats.
void WaitForWorkers(CeleryActuator& a, int n) {
  const bool up = WaitUntil(
      [&] {
        auto c = a.Current();
        return c.ok() && a.state().answered == n;
      },
      milliseconds(60000));
  INFO(a.state().last_error);
  REQUIRE(up);
}

TEST_CASE("celery pools really grow and shrink, fixed and autoscaling") {
  amas::testing::SystemClock clock;
  Broker broker;
  auto w1 = StartWorker(broker, "w1@amas", {"-c", "2"});
  auto w2 = StartWorker(broker, "w2@amas", {"--autoscale=6,2"});
  auto act = MakeActuator(broker, clock);
  WaitForWorkers(*act, 2);
  REQUIRE(WaitUntil([&] { return CountChildren(w1->pid()) == 2 && CountChildren(w2->pid()) == 2; },
                    milliseconds(20000)));

  auto current = act->Current();
  REQUIRE(current.ok());
  CHECK(*current == 4);
  CHECK(act->kind() == "celery");

  // 4 -> 7: growth goes to the smaller pool, ties to the first hostname.
  REQUIRE_OK(act->Apply(7, Fence{}));
  CeleryState st = act->state();
  CHECK(st.current == 7);
  CHECK(st.commands_last_apply == 2);  // one pool_grow, one autoscale
  REQUIRE(st.workers.size() == 2);
  CHECK(st.workers[0].hostname == "w1@amas");
  CHECK(st.workers[0].target == 4);
  CHECK(st.workers[1].target == 3);
  CHECK(st.workers[1].autoscale_max == 3);
  CHECK(st.workers[1].autoscale_min == 3);
  // The OS agrees: the children exist (billiard spawns grown ones within ~5 s).
  CHECK(WaitUntil([&] { return CountChildren(w1->pid()) == 4 && CountChildren(w2->pid()) == 3; },
                  milliseconds(15000)));
  CHECK(act->LastOutput().find("pool will grow") != std::string::npos);

  // The count it already has changes nothing.
  REQUIRE_OK(act->Apply(7, Fence{}));
  CHECK(act->state().commands_last_apply == 0);

  // 7 -> 3: shrink the largest first (ties: last hostname), one process per command.
  REQUIRE_OK(act->Apply(3, Fence{}));
  st = act->state();
  CHECK(st.current == 3);
  CHECK(st.workers[0].target == 2);
  CHECK(st.workers[1].target == 1);
  CHECK(st.commands_last_apply == 3);  // two pool_shrink{n:1}, one autoscale
  CHECK(WaitUntil([&] { return CountChildren(w1->pid()) == 2 && CountChildren(w2->pid()) == 1; },
                  milliseconds(15000)));
  INFO("children w1 " << CountChildren(w1->pid()) << " w2 " << CountChildren(w2->pid()));
  CHECK(CountChildren(w1->pid()) == 2);

  // Below one process per worker is refused and changes nothing.
  core::Status below = act->Apply(1, Fence{});
  CHECK(below.code() == core::Status::Code::kFailedPrecondition);
  CHECK(act->Current().value() == 3);

  // A shrink while every process of w1 is busy is refused by billiard: the
  // actuator reports it as transient and the pool keeps its size.
  SendTasks(broker, "celery", 8, 8.0);
  REQUIRE(WaitUntil([&] { return ActiveTasks(broker, "w1@amas") == 2; }, milliseconds(15000)));
  core::Status busy = act->Apply(2, Fence{});
  INFO(busy.ToString());
  CHECK(busy.IsUnavailable());
  CHECK(busy.message().find("busy") != std::string::npos);
  CHECK(act->Current().value() == 3);
}

TEST_CASE("celery queue length counts every priority list and the reserved messages") {
  amas::testing::SystemClock clock;
  Broker broker;
  // No worker consumes "backlog": everything stays in the lists.
  SendTasks(broker, "backlog", 7, 0);
  SendTasks(broker, "backlog", 4, 0, 7);  // priority 7 -> backlog\x06\x166
  SendTasks(broker, "backlog", 2, 0, 9);
  redis::Conn conn = amas::testing::MustConnect(broker.port);
  auto q = ReadQueueLengths(conn, {"backlog", "celery"});
  REQUIRE(q.ok());
  REQUIRE(q->size() == 2);
  CHECK((*q)[0].queue == "backlog");
  CHECK((*q)[0].ready == 13);
  CHECK((*q)[0].unacked == 0);
  CHECK((*q)[1].ready == 0);
  auto lists = conn.Command({"LLEN", std::string("backlog\x06\x16") + "6"});
  CHECK(lists->integer == 4);

  // A worker with 1 process runs one task (acknowledged when it starts, so
  // no longer in the broker) and reserves 4 more (prefetch 4 x 1).
  SendTasks(broker, "celery", 6, 5.0);
  auto w = StartWorker(broker, "solo@amas", {"-c", "1"});
  auto act = MakeActuator(broker, clock);
  WaitForWorkers(*act, 1);
  int64_t ready = -1, unacked = -1;
  CHECK(WaitUntil(
      [&] {
        auto r = ReadQueueLengths(conn, {"celery"});
        if (!r.ok()) return false;
        ready = r->front().ready;
        unacked = r->front().unacked;
        return ready == 1 && unacked == 4;
      },
      milliseconds(4000)));
  INFO("ready " << ready << " unacked " << unacked);
  CHECK(ready + unacked == 5);
}

TEST_CASE("celery: no worker answering leaves the pools untouched and says so") {
  amas::testing::SystemClock clock;
  Broker broker;
  auto w1 = StartWorker(broker, "w1@amas", {"-c", "2"});
  auto act = MakeActuator(broker, clock);
  WaitForWorkers(*act, 1);
  REQUIRE(act->Current().value() == 2);

  // Frozen: PUBLISH still counts it as a listener, but nobody answers.
  w1->Signal(SIGSTOP);
  auto frozen = act->Current();
  CHECK(frozen.status().IsUnavailable());
  CeleryState st = act->state();
  CHECK(st.phase == CeleryState::Phase::kNoWorkers);
  CHECK(st.listeners == 1);
  CHECK(st.answered == 0);
  CHECK(st.silent == 1);
  CHECK(st.current == -1);
  core::Status applied = act->Apply(5, Fence{});
  CHECK(applied.IsUnavailable());
  CHECK(act->state().commands_last_apply == 0);
  CHECK(PhaseName(act->state().phase) == "no_workers");

  // Thawed, it answers the stale stats requests into deleted queues and
  // nothing else: the pool was never asked to change.
  w1->Signal(SIGCONT);
  REQUIRE(WaitUntil([&] { return act->Current().ok(); }, milliseconds(10000)));
  CHECK(act->Current().value() == 2);
  CHECK(CountChildren(w1->pid()) == 2);

  // A stale fencing token is refused before anything is sent.
  REQUIRE_OK(act->Apply(3, Fence{5}));
  core::Status stale = act->Apply(2, Fence{3});
  CHECK(stale.code() == core::Status::Code::kFailedPrecondition);
  CHECK(act->Current().value() == 3);

  // Gone: nobody listens at all.
  w1->Stop();
  auto gone = act->Current();
  CHECK(gone.status().IsUnavailable());
  CHECK(act->state().listeners == 0);
  CHECK(act->state().phase == CeleryState::Phase::kNoWorkers);
  CHECK(act->Apply(4, Fence{}).IsUnavailable());
}

TEST_CASE("celery: named workers only") {
  amas::testing::SystemClock clock;
  Broker broker;
  auto w1 = StartWorker(broker, "w1@amas", {"-c", "2"});
  auto w2 = StartWorker(broker, "w2@amas", {"-c", "2"});
  auto all = MakeActuator(broker, clock);
  WaitForWorkers(*all, 2);
  auto only_w2 = MakeActuator(broker, clock, {"w2@amas"});
  REQUIRE(only_w2->Current().value() == 2);
  REQUIRE_OK(only_w2->Apply(3, Fence{}));
  CHECK(all->Current().value() == 5);
  CHECK(WaitUntil([&] { return CountChildren(w2->pid()) == 3; }, milliseconds(15000)));
  CHECK(CountChildren(w1->pid()) == 2);
}

}  // namespace
}  // namespace amas::act::celery
