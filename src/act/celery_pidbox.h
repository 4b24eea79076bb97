// celery_pidbox.h: Celery's remote-control (pidbox) wire format over a Redis
// broker, as kombu 5.2 writes and reads it. Pure: builds and parses strings,
// no I/O, no clock (ids and expiry come in as arguments).
// A request is one PUBLISH of BuildPidboxEnvelope() on PidboxChannel(db);
// workers LPUSH replies onto ReplyQueue(oid), but only after the client has
// SADDed ReplyBinding(oid) to kReplyBindingsKey (else the reply is dropped).
// Parsers return InvalidArgument naming the part that is wrong.
#ifndef AMAS_ACT_CELERY_PIDBOX_H_
#define AMAS_ACT_CELERY_PIDBOX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::act::celery {

// kombu's separator in binding members and priority queue names.
inline constexpr std::string_view kSep = "\x06\x16";
inline constexpr std::string_view kReplyBindingsKey = "_kombu.binding.reply.celery.pidbox";

std::string PidboxChannel(int db);               // "/0.celery.pidbox"
std::string ReplyQueue(std::string_view oid);    // "<oid>.reply.celery.pidbox"
std::string ReplyBinding(std::string_view oid);  // "<oid>\x06\x16\x06\x16<oid>.reply.celery.pidbox"

std::string Base64Encode(std::string_view bytes);
core::Result<std::string> Base64Decode(std::string_view text);

struct PidboxRequest {
  std::string method;                    // "stats", "pool_grow", "autoscale", ...
  std::string arguments_json = "{}";     // a JSON object, e.g. {"n":2}
  std::vector<std::string> destination;  // exact hostnames; empty means every worker
  std::string ticket;                    // empty: a cast, workers send no reply
  std::string reply_oid;                 // routing key of the reply queue
  std::string delivery_tag;
  double expires_unix_seconds = 0;  // kombu 5.2 workers ignore it; newer ones may not
};
std::string BuildPidboxEnvelope(const PidboxRequest& request);

// One worker's answer inside a reply envelope.
struct PidboxReply {
  std::string ticket;
  std::string hostname;
  std::string result_json;  // {"ok": "..."}, {"error": "..."}, the stats dict, ...
};
// A reply envelope holds {hostname: result} for one worker (kombu never sends more,
// but every pair found is returned).
core::Result<std::vector<PidboxReply>> ParsePidboxReply(std::string_view envelope);

// {"ok": "pool will grow"} or {"error": "..."}.
struct ControlResult {
  bool ok = false;
  std::string message;
};
core::Result<ControlResult> ParseControlResult(std::string_view result_json);

// The parts of a `stats` reply that say how big the pool is.
struct WorkerStats {
  int32_t processes = -1;        // live pool children; -1 when the pool lists none
  int32_t max_concurrency = -1;  // the -c value; pool_grow/shrink do not change it
  int64_t prefetch_count = -1;   // multiplier x target processes, updated on ack
  bool autoscale = false;
  int32_t autoscale_max = 0;
  int32_t autoscale_min = 0;
  int32_t autoscale_current = 0;  // target process count of the autoscaler
};
core::Result<WorkerStats> ParseWorkerStats(std::string_view result_json);

// worker_prefetch_multiplier from a `conf` reply (with_defaults=true).
core::Result<int32_t> ParsePrefetchMultiplier(std::string_view conf_result_json);

}  // namespace amas::act::celery

#endif  // AMAS_ACT_CELERY_PIDBOX_H_
