// redis_conn.h: one blocking hiredis connection with timeouts, owned (RAII).
// Replies are copied into a plain Reply tree, so no hiredis object outlives a
// call. An I/O error or timeout makes the connection broken(): every later
// call fails fast with Unavailable and the owner opens a new Conn. A Redis
// error reply ("-MOVED ...", "-BUSYKEY ...") is not a failed call: it comes
// back as a Reply with is_error(); ReplyErrorStatus() classifies it.
// Thread rule: a Conn is used by one thread at a time.
#ifndef AMAS_ACT_REDIS_CONN_H_
#define AMAS_ACT_REDIS_CONN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.h"

struct redisContext;

namespace amas::act::redis {

struct Endpoint {
  std::string host = "127.0.0.1";  // an IP: Redis Cluster announces and MEETs by IP
  int port = 6379;
  std::string password;  // AUTH when non-empty
  int db = 0;            // SELECT when non-zero (never with Redis Cluster)

  static Endpoint At(std::string host, int port) {
    Endpoint e;
    e.host = std::move(host);
    e.port = port;
    return e;
  }
  std::string ToString() const { return host + ":" + std::to_string(port); }
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.host == b.host && a.port == b.port;
  }
};

struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // The first word of an error reply: "MOVED", "BUSYKEY", "ERR".
  std::string_view error_code() const;
};

// Unavailable for errors that go away by themselves (CLUSTERDOWN, TRYAGAIN,
// LOADING, MASTERDOWN, BUSY, IOERR), FailedPrecondition for the rest.
core::Status ReplyErrorStatus(std::string_view error_text);

// The EVAL arguments that raise the fencing token stored at key to token,
// atomically; the reply is the stored token afterwards, so a reply other than
// token means a newer leader has acted. Lua numbers are doubles: tokens are
// exact up to 2^53.
std::vector<std::string> RaiseFenceCommand(std::string_view key, uint64_t token);

class Conn {
 public:
  // Connects, then AUTH/SELECT as the endpoint says. Unavailable when the
  // server cannot be reached within timeout; a refused AUTH is
  // PermissionDenied.
  static core::Result<Conn> Open(const Endpoint& endpoint, core::Duration timeout);

  Conn(Conn&&) noexcept;
  Conn& operator=(Conn&&) noexcept;
  Conn(const Conn&) = delete;  // one socket, one owner; open a second Conn instead
  Conn& operator=(const Conn&) = delete;
  ~Conn();

  // One command, arguments binary-safe. Unavailable on I/O error or timeout.
  core::Result<Reply> Command(const std::vector<std::string>& args);
  // Several commands in one round trip; replies in order.
  core::Result<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  // Read/write timeout for later calls (BRPOP needs more than the default).
  core::Status SetTimeout(core::Duration timeout);

  bool broken() const { return broken_; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  struct Free {
    void operator()(redisContext* c) const;
  };
  Conn(Endpoint endpoint, std::unique_ptr<redisContext, Free> ctx);
  core::Status IoError(std::string_view what);

  Endpoint endpoint_;
  std::unique_ptr<redisContext, Free> ctx_;
  bool broken_ = false;
};

// Command() that also turns an error reply into a Status with context.
core::Result<Reply> CommandOk(Conn& conn, const std::vector<std::string>& args);

}  // namespace amas::act::redis

#endif  // AMAS_ACT_REDIS_CONN_H_
