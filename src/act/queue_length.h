// queue_length.h: the real backlog of Celery queues on a Redis broker, as
// plain data for metrics (another module turns it into series).
// kombu keeps queue Q as the lists Q, Q\x06\x163, Q\x06\x166, Q\x06\x169 (one
// per priority step) and moves every message a worker has reserved into one
// global hash "unacked"; "ready" sums the lists, "unacked" counts the hash's
// messages whose routing key is Q. Both are read in one MULTI, so they are
// one snapshot. Cost: O(unacked messages) per read (HVALS).
// Thread rule: the Conn is the caller's; the functions keep no state.
#ifndef AMAS_ACT_QUEUE_LENGTH_H_
#define AMAS_ACT_QUEUE_LENGTH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "act/redis_conn.h"
#include "core/core.h"

namespace amas::act::celery {

struct QueueLength {
  std::string queue;
  int64_t ready = 0;    // waiting in the lists, all priorities
  int64_t unacked = 0;  // reserved or running on a worker, not yet acknowledged
};

struct QueueLengthOptions {
  std::vector<int> priority_steps = {0, 3, 6, 9};  // kombu's transport option
  std::string key_prefix;                          // kombu's global_keyprefix
};

// The list keys that hold queue's messages: step 0 is the bare name.
std::vector<std::string> QueueKeys(std::string_view queue, const QueueLengthOptions& options);

// The routing key stored in one value of the unacked hash:
// JSON [message, exchange, routing_key].
core::Result<std::string> UnackedRoutingKey(std::string_view value);

// One QueueLength per queue, in the order given. Unavailable when the broker
// cannot be reached; an unacked value that does not parse is skipped.
core::Result<std::vector<QueueLength>> ReadQueueLengths(redis::Conn& broker,
                                                        const std::vector<std::string>& queues,
                                                        const QueueLengthOptions& options = {});

}  // namespace amas::act::celery

#endif  // AMAS_ACT_QUEUE_LENGTH_H_
