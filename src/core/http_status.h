// http_status.h: the text of an HTTP status code as Go's http.StatusText
// gives it, which is what Prometheus and Alertmanager print in errors
// ("server returned HTTP status 503 Service Unavailable") and send as reason
// phrases. "" for a code it does not know.
#ifndef AMAS_CORE_HTTP_STATUS_H_
#define AMAS_CORE_HTTP_STATUS_H_

#include <string_view>

namespace amas::core {

std::string_view HttpStatusText(int code);

}  // namespace amas::core

#endif  // AMAS_CORE_HTTP_STATUS_H_
