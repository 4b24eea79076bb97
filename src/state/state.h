// state.h: what survives a restart, and who may act. Depends on core.
// SaveFile() writes one document atomically (temp file, fsync, rename, fsync
// of the folder) behind a header with its length and CRC-32; LoadFile()
// returns NotFound for no file and InvalidArgument for a corrupt or partial
// one, never a crash and never half a document.
// A lease elects one actor among replicas: DecideLease() is the pure rule
// (expiry judged against a passed-in now; the fencing token grows with every
// new holder and never goes back); LeaseBackend applies it atomically, in
// process or in Redis. Thread rule: backends are used from one thread.
#ifndef AMAS_STATE_STATE_H_
#define AMAS_STATE_STATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/core.h"

namespace amas::state {

core::Status SaveFile(const std::string& path, std::string_view document);
core::Result<std::string> LoadFile(const std::string& path);

struct LeaseRecord {
  std::string holder;
  int64_t expires_ms = 0;  // the lease is held while now < expires_ms
  uint64_t token = 0;      // fencing token of the holder's term
};

struct LeaseDecision {
  bool granted = false;
  LeaseRecord record;  // what to store: the new lease, or the current one when refused
};

// Grants when there is no lease, it has expired, or `holder` already holds
// it (a renewal keeps the token); a new term gets current token + 1.
LeaseDecision DecideLease(const std::optional<LeaseRecord>& current, std::string_view holder,
                          core::Time now, core::Duration ttl);

class LeaseBackend {
 public:
  virtual ~LeaseBackend() = default;
  // Tries to acquire or renew; Unavailable when the backend cannot be
  // reached (the caller must then stop acting once its lease runs out).
  virtual core::Result<LeaseDecision> TryAcquire(std::string_view holder, core::Time now,
                                                 core::Duration ttl) = 0;
  // Gives the lease up early (on shutdown) if `holder` has it.
  virtual core::Status Release(std::string_view holder) = 0;
};

// One replica, no sharing: DecideLease over a record kept in memory.
std::unique_ptr<LeaseBackend> NewLocalLease();

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // read by the caller from a password_file
  std::string key_prefix = "amas-scaler/";
  core::Duration timeout = core::Duration::Seconds(2);
};

// A lease shared by replicas through Redis (one key, updated by a Lua
// script that applies DecideLease's rule). Connects lazily; reconnects.
std::unique_ptr<LeaseBackend> NewRedisLease(RedisOptions options);

}  // namespace amas::state

#endif  // AMAS_STATE_STATE_H_
