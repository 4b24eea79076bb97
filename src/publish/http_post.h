// http_post.h (internal): one JSON POST with libcurl, for the webhook sender
// and the Alertmanager notifier. Blocking, bounded by timeout, the response
// body discarded; every curl handle is owned for the call and freed on return.
#ifndef AMAS_PUBLISH_HTTP_POST_H_
#define AMAS_PUBLISH_HTTP_POST_H_

#include <string>
#include <vector>

#include "core/core.h"

namespace amas::publish::internal {

struct PostResult {
  long status = 0;    // HTTP status; 0 when the transfer itself failed
  std::string error;  // curl's message when status is 0
  bool ok() const { return status >= 200 && status < 300; }
};

// Sends body as application/json with User-Agent amas-scaler plus the extra
// header lines; tls_ca_file, when set, replaces the system CA bundle.
PostResult PostJson(const std::string& url, const std::string& body,
                    const std::vector<std::string>& extra_headers, core::Duration timeout,
                    const std::string& tls_ca_file = "");

}  // namespace amas::publish::internal

#endif  // AMAS_PUBLISH_HTTP_POST_H_
