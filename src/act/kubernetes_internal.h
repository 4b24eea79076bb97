// kubernetes_internal.h: helpers of the kubernetes actuator, exposed for tests.
#ifndef AMAS_ACT_KUBERNETES_INTERNAL_H_
#define AMAS_ACT_KUBERNETES_INTERNAL_H_

#include <string>
#include <string_view>

#include "core/core.h"

namespace amas::act::k8s_internal {

// RFC 4648 base64 (kubeconfig *-data fields); whitespace is ignored.
core::Result<std::string> Base64Decode(std::string_view in);
core::Result<std::string> ReadSmallFile(const std::string& path);
std::string Trim(std::string s);

// The error for a non-2xx answer about `what` ("deployment default/backend"):
// names the resource and says what to check. 409 is Aborted, 429/5xx Unavailable.
core::Status ErrorForResponse(long http_status, std::string_view body, std::string_view method,
                              std::string_view what, std::string_view resource,
                              std::string_view namespace_name);

}  // namespace amas::act::k8s_internal

#endif  // AMAS_ACT_KUBERNETES_INTERNAL_H_
