#include "act/exec_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace amas::act {

using core::Result;
using core::Status;

namespace {

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal(std::string("pipe: ") + strerror(errno));
  *read_end = Fd(fds[0]);
  *write_end = Fd(fds[1]);
  return Status::Ok();
}

// posix_spawn's C objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

enum class ReadState { kData, kAgain, kEnd };

// Appends what one read() gives, up to `limit` in all.
ReadState Drain(int fd, std::string* into, size_t limit, bool* truncated) {
  char buf[4096];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return ReadState::kAgain;
  if (n <= 0) return ReadState::kEnd;
  const size_t room = limit > into->size() ? limit - into->size() : 0;
  if (static_cast<size_t>(n) > room) *truncated = true;
  into->append(buf, std::min(room, static_cast<size_t>(n)));
  return ReadState::kData;
}

}  // namespace

Result<ProcessResult> RunProcess(const RunOptions& o) {
  if (o.argv.empty() || o.argv[0].empty() || o.argv[0][0] != '/') {
    return Status::InvalidArgument("program must be an absolute path (no PATH search)");
  }
  Fd out_r, out_w, err_r, err_w;
  if (Status s = MakePipe(&out_r, &out_w); !s.ok()) return s;
  if (Status s = MakePipe(&err_r, &err_w); !s.ok()) return s;

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err_w.get(), 2);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);  // its own group: the timeout kills all of it
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv = CStrings(o.argv);
  std::vector<char*> envp = CStrings(o.env);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    return Status::FailedPrecondition("cannot run " + o.argv[0] + ": " + strerror(rc));
  }
  out_w.Reset();
  err_w.Reset();

  ProcessResult res;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout.millis());
  auto ms_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now())
        .count();
  };
  // Exited, but not reaped: the zombie keeps its pid (and so its group id)
  // from being reused until we have killed any strays in the group.
  auto has_exited = [&] {
    siginfo_t info{};
    return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
  };
  bool out_open = true, err_open = true, exited = false;
  while ((out_open || err_open) && !exited) {
    const int64_t left = ms_left();
    if (left <= 0) break;
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    // Wake now and then: a stray grandchild may hold the pipes open after the
    // program itself has exited.
    const int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 50)));
    if (n < 0 && errno != EINTR) break;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      out_open = Drain(out_r.get(), &res.out, o.output_limit, &res.truncated) != ReadState::kEnd;
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      err_open = Drain(err_r.get(), &res.err, o.output_limit, &res.truncated) != ReadState::kEnd;
    }
    if (n == 0) exited = has_exited();
  }
  while (!exited && ms_left() > 0) {
    exited = has_exited();
    if (!exited) poll(nullptr, 0, static_cast<int>(std::min<int64_t>(ms_left(), 10)));
  }
  res.timed_out = !exited;
  // The whole group goes: the program on timeout, strays otherwise.
  kill(-pid, SIGKILL);
  if (exited) {
    for (Fd* fd : {&out_r, &err_r}) {
      fcntl(fd->get(), F_SETFL, O_NONBLOCK);
      std::string* into = fd == &out_r ? &res.out : &res.err;
      while (Drain(fd->get(), into, o.output_limit, &res.truncated) == ReadState::kData) {
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && !res.timed_out) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
  }
  return res;
}

}  // namespace amas::act
