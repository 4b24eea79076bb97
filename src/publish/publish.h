// publish.h: what amas-scaler tells the outside world. Depends on core.
// SelfMetrics owns the prometheus-cpp registry behind GET /metrics; modules
// that export metrics get it from here (there is no global registry).
// Update*() turn plain reports (scrape targets, store size, reloads) into
// gauges and histograms; nothing here reads another module. Render() writes
// every family, process_* included, as text format 0.0.4 that passes
// `promtool check metrics`. Thread rule: every method is safe from any thread.
// Outbound webhooks and the Alertmanager notifier are still to come.
#ifndef AMAS_PUBLISH_PUBLISH_H_
#define AMAS_PUBLISH_PUBLISH_H_

#include "publish/self_metrics.h"

#endif  // AMAS_PUBLISH_PUBLISH_H_
