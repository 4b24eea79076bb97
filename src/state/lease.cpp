#include "state/state.h"

namespace amas::state {
namespace {

class LocalLease : public LeaseBackend {
 public:
  core::Result<LeaseDecision> TryAcquire(std::string_view holder, core::Time now,
                                         core::Duration ttl) override {
    LeaseDecision d = DecideLease(current_, holder, now, ttl);
    current_ = d.record;
    return d;
  }
  core::Status Release(std::string_view holder) override {
    if (current_ && current_->holder == holder) current_->expires_ms = 0;
    return core::Status();
  }

 private:
  std::optional<LeaseRecord> current_;
};

}  // namespace

LeaseDecision DecideLease(const std::optional<LeaseRecord>& current, std::string_view holder,
                          core::Time now, core::Duration ttl) {
  const int64_t now_ms = now.unix_millis();
  LeaseDecision d;
  if (current && current->holder != holder && now_ms < current->expires_ms) {
    d.record = *current;  // someone else holds an unexpired lease
    return d;
  }
  d.granted = true;
  d.record.holder = std::string(holder);
  d.record.expires_ms = now_ms + ttl.millis();
  const bool renewal = current && current->holder == holder && now_ms < current->expires_ms;
  const uint64_t last = current ? current->token : 0;
  d.record.token = renewal ? last : last + 1;
  return d;
}

std::unique_ptr<LeaseBackend> NewLocalLease() { return std::make_unique<LocalLease>(); }

}  // namespace amas::state
