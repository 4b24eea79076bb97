// app.h: the running amas-scaler: wiring, the one clock, the scheduler,
// reload and signals. Run() loads the config, starts the store, the scrape
// manager thread, the HTTP server (and the demo platform exporter when the
// config asks for it), then serves until SIGTERM or SIGINT, which it honours
// within a second. SIGHUP and POST /-/reload re-read the config; a config
// that does not load is rejected with its error and the running one stays.
// Run() blocks those signals in the calling thread before starting others,
// so call it from main() before any thread exists.
#ifndef AMAS_APP_APP_H_
#define AMAS_APP_APP_H_

#include <string>

#include "app/log.h"

namespace amas::app {

struct Options {
  std::string config_file = "amas-scaler.yml";
  std::string listen_address = ":9105";  // "host:port" or ":port"
  std::string external_url;              // "": http://<hostname>:<port>/
  std::string storage_path = "data/";    // for persisted state (state/ module)
  LogLevel log_level = LogLevel::kInfo;
};

// Returns the process exit code: 0 after a clean shutdown, 1 when startup failed.
int Run(const Options& options, const Logger& log);

}  // namespace amas::app

#endif  // AMAS_APP_APP_H_
