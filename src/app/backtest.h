// backtest.h: `amas-scaler backtest`: what the scaler would have decided.
// Recorded samples (a file, or a Prometheus API) go into a store that keeps
// everything; a Scaler built from the config then ticks at the times the
// service would have (or every --step) from start to end, with every actuator
// replaced by an in-memory dry_run one whose count follows the decisions.
// Nothing outside the process is touched. The recorded signals do not react
// to the simulated counts: the replay is as open-loop as any backtest.
// Errors are values: bad files name file:line:col; Backtest() prints them.
#ifndef AMAS_APP_BACKTEST_H_
#define AMAS_APP_BACKTEST_H_

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "app/scaler.h"
#include "core/core.h"
#include "store/store.h"

namespace amas::app {

// What a recorded samples file held; times are of its samples.
struct RecordedSpan {
  size_t samples = 0;
  size_t repeated = 0;  // the same sample again (overlapping /federate captures): skipped
  size_t series = 0;
  core::Time first, last;
};

// Loads exposition lines with timestamps (text 0.0.4, OpenMetrics when the
// body ends with "# EOF", or promtool tsdb dump's `{__name__="x", ...} v t`)
// into store. Families may repeat (captures appended one after another); each
// series' samples must come in time order. `file` names the source in errors.
core::Result<RecordedSpan> LoadRecordedSamples(std::string_view text, const std::string& file,
                                               store::Store* store);

struct ReplayOptions {
  core::Time start, end;             // [start, end]: a round at start, then whenever due
  core::Duration step;               // 0: each group's own interval, as the service runs
  std::vector<std::string> targets;  // report only these (must exist); empty = all
};

// One change of a target's recommendation.
struct BacktestChange {
  core::Time at;
  std::string target;
  int32_t from = 0, to = 0;
  std::string reason;            // the decision's last `why` line
  std::vector<std::string> why;  // all of them
};

struct BacktestTarget {
  std::string name;
  int32_t initial = 0, final = 0;  // desired at the first and last round
  int32_t min_desired = 0, max_desired = 0;
  size_t changes = 0;
  core::Time first_at_max;
  core::Duration time_at_max;  // summed over rounds spent at max_desired
};

struct BacktestResult {
  core::Time start, end;
  size_t rounds = 0;
  std::vector<BacktestChange> timeline;           // time order
  std::vector<BacktestTarget> targets;            // config order
  std::map<std::string, uint64_t> rule_failures;  // group -> failed rule evaluations
};

// Replays config over the samples in store. Remote-datasource groups are
// answered by `remote` when it is set, else evaluated over store.
core::Result<BacktestResult> Replay(const Config& config, store::Store* store,
                                    const ReplayOptions& options, const RemoteQuery& remote = {});

// The subcommand: exit 0 after printing the timeline and summary ("text")
// or one JSON document ("json"); 1 when an input is bad; 2 for missing flags.
struct BacktestFlags {
  std::string config_file, source, start, end, step, output;
  std::vector<std::string> targets;
};
int Backtest(const BacktestFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace amas::app

#endif  // AMAS_APP_BACKTEST_H_
