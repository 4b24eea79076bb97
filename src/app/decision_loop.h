// decision_loop.h: the running decision side of amas-scaler. On its own
// thread it ticks the Scaler (rules -> decide -> act), renews the lease that
// lets this replica act, appends Alertmanager's firing alerts to the store,
// sends alerts to Alertmanager, and saves state under --storage.path when it
// changes (restoring it at start). Reload() swaps in a Scaler built from a
// new config and carries the state over. Thread rule: Start/Reload/Stop from
// one thread; the API functions from any thread.
#ifndef AMAS_APP_DECISION_LOOP_H_
#define AMAS_APP_DECISION_LOOP_H_

#include <memory>
#include <string>

#include "app/config.h"
#include "app/log.h"
#include "core/core.h"
#include "http/scaler_api.h"
#include "store/store.h"

namespace prometheus {
class Registry;
}

namespace amas::app {

struct DecisionLoopOptions {
  std::string storage_path;  // "" = keep nothing
  std::string external_url;
  std::string holder;  // this replica's lease identity
};

class DecisionLoop {
 public:
  // The store, clock, logger and registry must outlive the loop.
  static core::Result<std::unique_ptr<DecisionLoop>> Create(const Config& config,
                                                            DecisionLoopOptions options,
                                                            store::Store* store,
                                                            const core::Clock* clock,
                                                            const Logger* log,
                                                            prometheus::Registry* registry);
  DecisionLoop(const DecisionLoop&) = delete;  // owns a thread
  DecisionLoop& operator=(const DecisionLoop&) = delete;
  ~DecisionLoop();

  void Start();
  // Builds everything from the new config first; on error nothing changes.
  core::Status Reload(const Config& config);
  // Finishes running actions, saves state, gives the lease up.
  void Stop();
  // Routes for /api/v1/rules, /alerts, /scale_targets, /alertmanager.
  http::ScalerApiOptions Api();
  // Copies counters into /metrics (called when /metrics is read).
  void RefreshMetrics();

 private:
  DecisionLoop() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::app

#endif  // AMAS_APP_DECISION_LOOP_H_
