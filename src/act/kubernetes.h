// kubernetes.h: the scale subresource of Deployments, StatefulSets and custom
// resources, over the Kubernetes REST API (libcurl; no client library).
// KubeConfig comes from the pod's service account (InClusterConfig) or a
// kubeconfig file's current context (LoadKubeconfig). One KubeClient is shared
// by all targets of a cluster: it owns the connections and a client-side
// token bucket (qps, burst, as in client-go) that every request passes.
// Errors: 5xx, 429, timeouts, refused connections are Unavailable (retried by
// the Executor); 401/403/404 name the resource and what to check; a 409 is
// re-read and retried here. Thread rule: KubeClient is thread-safe; each
// KubernetesActuator belongs to one Executor.
#ifndef AMAS_ACT_KUBERNETES_H_
#define AMAS_ACT_KUBERNETES_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "act/actuator.h"
#include "act/rate_limiter.h"
#include "core/core.h"

namespace amas::act {

// Where the API server is and who we are. *_pem fields hold PEM text (from
// kubeconfig *-data fields); *_file fields hold paths. Empty means unset.
struct KubeConfig {
  std::string server;      // "https://10.96.0.1:443"
  std::string token;       // bearer token
  std::string token_file;  // re-read after a 401: bound service-account tokens rotate
  std::string ca_file, ca_pem;
  std::string client_cert_file, client_cert_pem;
  std::string client_key_file, client_key_pem;
  bool insecure_skip_tls_verify = false;
  std::string namespace_name = "default";  // the context's or the pod's namespace
};

// In a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, with
// token, ca.crt and namespace from sa_dir. FailedPrecondition when not in a pod.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
core::Result<KubeConfig> InClusterConfig(std::string_view host, std::string_view port,
                                         const std::string& sa_dir);
core::Result<KubeConfig> InClusterConfigFromEnvironment();
// The kubeconfig's current-context (or `context` when not empty). Errors say
// file:line:col. exec and auth-provider plugins are Unimplemented.
core::Result<KubeConfig> LoadKubeconfig(const std::string& path, std::string_view context = "");

struct KubeClientOptions {
  double qps = 5;  // client-go's defaults; raise them for many targets
  int burst = 10;
  core::Duration timeout = core::Duration::Seconds(10);  // whole request
  core::Duration connect_timeout = core::Duration::Seconds(5);
  int conflict_retries = 5;  // re-reads after a 409 before giving up (Aborted)
};

struct KubeResponse {
  long status = 0;
  std::string body;
};

class KubeClient {
 public:
  // clock and sleeper (for the rate limiter) must outlive the client.
  static core::Result<std::shared_ptr<KubeClient>> Create(KubeConfig config,
                                                          KubeClientOptions options,
                                                          const core::Clock* clock,
                                                          Sleeper* sleeper);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;  // owns connections; share the shared_ptr
  KubeClient& operator=(const KubeClient&) = delete;

  // One request, after the rate limiter. Any HTTP status is a response; only
  // transport failures are errors (Unavailable; TLS setup: FailedPrecondition).
  core::Result<KubeResponse> Do(std::string_view method, const std::string& path,
                                const std::string& body = "", std::string_view content_type = "");
  const KubeClientOptions& options() const { return options_; }
  const KubeConfig& config() const { return config_; }

 private:
  struct Pool;
  KubeClient(KubeConfig config, KubeClientOptions options, const core::Clock* clock,
             Sleeper* sleeper);
  core::Result<KubeResponse> Send(std::string_view method, const std::string& path,
                                  const std::string& body, std::string_view content_type);
  std::string Token();
  bool RefreshToken();

  KubeConfig config_;
  const KubeClientOptions options_;
  RateLimiter limiter_;
  std::unique_ptr<Pool> pool_;
  std::mutex token_mu_;
};

// Which object's scale subresource: a group/version/plural resource and a
// namespaced name. Names are checked (DNS-1123), so they are safe in a path.
struct ScaleRef {
  std::string group;  // "" for the core group ("v1" replicationcontrollers)
  std::string version;
  std::string resource;  // plural: "deployments", "statefulsets", "widgets"
  std::string namespace_name;
  std::string name;
  std::string Path() const;      // "/apis/apps/v1/namespaces/default/deployments/backend/scale"
  std::string Describe() const;  // "deployment default/backend", "widgets.example.com ns/x"
};
// api_version "apps/v1" (or "v1"), resource plural or kind ("Deployment").
core::Result<ScaleRef> MakeScaleRef(std::string_view api_version, std::string_view resource,
                                    std::string_view namespace_name, std::string_view name);

class KubernetesActuator : public Actuator {
 public:
  KubernetesActuator(std::shared_ptr<KubeClient> client, ScaleRef ref)
      : client_(std::move(client)), ref_(std::move(ref)), path_(ref_.Path()) {}
  std::string_view kind() const override { return "kubernetes"; }
  std::string Describe() const override { return ref_.Describe(); }
  core::Result<int32_t> Current() override;
  // A merge patch of spec.replicas with the last-read resourceVersion as a
  // precondition; on 409 re-reads and retries (options().conflict_retries).
  core::Status Apply(int32_t desired, Fence fence) override;

 private:
  struct Scale {
    int32_t replicas = 0;
    std::string resource_version;
  };
  core::Result<Scale> Read();

  std::shared_ptr<KubeClient> client_;
  const ScaleRef ref_;
  const std::string path_;
  std::mutex mu_;
  std::optional<Scale> last_read_;  // from Current(), used once by the next Apply
};

}  // namespace amas::act

#endif  // AMAS_ACT_KUBERNETES_H_
