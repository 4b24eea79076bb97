// In-cluster and kubeconfig loading for the kubernetes actuator.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "act/kubernetes.h"
#include "act/kubernetes_internal.h"

namespace amas::act {

using core::Result;
using core::Status;

namespace k8s_internal {

Result<std::string> Base64Decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::array<int, 256> value;
  value.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) value[static_cast<uint8_t>(kAlphabet[i])] = i;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = value[static_cast<uint8_t>(c)];
    if (v < 0 || padding > 0) {
      return Status::InvalidArgument("invalid base64 at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (padding > 2 || bits >= 6) return Status::InvalidArgument("truncated base64");
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace k8s_internal

using k8s_internal::Base64Decode;
using k8s_internal::ReadSmallFile;
using k8s_internal::Trim;

Result<KubeConfig> InClusterConfig(std::string_view host, std::string_view port,
                                   const std::string& sa_dir) {
  if (host.empty() || port.empty()) {
    return Status::FailedPrecondition(
        "not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  KubeConfig c;
  // An IPv6 service host needs brackets in a URL.
  const bool v6 = host.find(':') != std::string_view::npos;
  c.server = "https://" + (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" +
             std::string(port);
  c.token_file = sa_dir + "/token";
  Result<std::string> token = ReadSmallFile(c.token_file);
  if (!token.ok()) {
    return Status::FailedPrecondition("in-cluster config: " + token.status().message() +
                                      " (is a service account token mounted?)");
  }
  c.token = Trim(*token);
  if (c.token.empty())
    return Status::FailedPrecondition("in-cluster config: empty " + c.token_file);
  c.ca_file = sa_dir + "/ca.crt";
  if (!std::filesystem::exists(c.ca_file)) {
    return Status::FailedPrecondition("in-cluster config: cannot read " + c.ca_file);
  }
  Result<std::string> ns = ReadSmallFile(sa_dir + "/namespace");
  if (ns.ok() && !Trim(*ns).empty()) c.namespace_name = Trim(*ns);
  return c;
}

Result<KubeConfig> InClusterConfigFromEnvironment() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return InClusterConfig(host != nullptr ? host : "", port != nullptr ? port : "",
                         std::string(kServiceAccountDir));
}

namespace {

std::string Where(const std::string& path, const YAML::Mark& m) {
  if (m.is_null()) return path;
  return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// The `field` map of the entry of `list` whose name is `name`.
Result<YAML::Node> Named(const std::string& path, const YAML::Node& root, const char* list,
                         const std::string& name, const char* field, const YAML::Mark& from) {
  const YAML::Node items = root[list];
  if (items && items.IsSequence()) {
    for (const YAML::Node& item : items) {
      if (item.IsMap() && item["name"] && item["name"].as<std::string>() == name) {
        const YAML::Node inner = item[field];
        if (!inner || !inner.IsMap()) {
          return Status::InvalidArgument(Where(path, item.Mark()) + ": " + list + " entry \"" +
                                         name + "\" has no " + field + " map");
        }
        return inner;
      }
    }
  }
  return Status::NotFound(Where(path, from) + ": " + field + " \"" + name + "\" not found in " +
                          list);
}

std::string Str(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

}  // namespace

Result<KubeConfig> LoadKubeconfig(const std::string& path, std::string_view context) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::NotFound("kubeconfig " + path + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(path, e.mark) + ": " + e.msg);
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  // Relative paths in a kubeconfig are relative to the file, as kubectl reads them.
  auto resolve = [&](std::string p) {
    if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (dir / p).string();
  };
  try {
    if (!root.IsMap()) return Status::InvalidArgument(Where(path, root.Mark()) + ": not a map");
    std::string ctx_name(context);
    YAML::Mark ctx_mark = root.Mark();
    if (ctx_name.empty()) {
      ctx_name = Str(root, "current-context");
      if (root["current-context"]) ctx_mark = root["current-context"].Mark();
    }
    if (ctx_name.empty()) {
      return Status::FailedPrecondition("kubeconfig " + path +
                                        ": no current-context set and no context given");
    }
    Result<YAML::Node> ctx = Named(path, root, "contexts", ctx_name, "context", ctx_mark);
    if (!ctx.ok()) return ctx.status();
    const std::string cluster_name = Str(*ctx, "cluster");
    const std::string user_name = Str(*ctx, "user");
    Result<YAML::Node> cluster =
        Named(path, root, "clusters", cluster_name, "cluster", ctx->Mark());
    if (!cluster.ok()) return cluster.status();

    KubeConfig c;
    c.server = Str(*cluster, "server");
    if (c.server.empty()) {
      return Status::InvalidArgument(Where(path, cluster->Mark()) + ": cluster \"" + cluster_name +
                                     "\" has no server");
    }
    const std::string ns = Str(*ctx, "namespace");
    if (!ns.empty()) c.namespace_name = ns;
    c.ca_file = resolve(Str(*cluster, "certificate-authority"));
    if (const std::string data = Str(*cluster, "certificate-authority-data"); !data.empty()) {
      Result<std::string> pem = Base64Decode(data);
      if (!pem.ok()) {
        return pem.status().WithContext(
            Where(path, (*cluster)["certificate-authority-data"].Mark()) +
            ": certificate-authority-data");
      }
      c.ca_pem = *pem;
    }
    c.insecure_skip_tls_verify =
        (*cluster)["insecure-skip-tls-verify"] && (*cluster)["insecure-skip-tls-verify"].as<bool>();

    if (!user_name.empty()) {
      Result<YAML::Node> user = Named(path, root, "users", user_name, "user", ctx->Mark());
      if (!user.ok()) return user.status();
      for (const char* plugin : {"exec", "auth-provider"}) {
        if ((*user)[plugin]) {
          return Status::Unimplemented(Where(path, (*user)[plugin].Mark()) + ": user \"" +
                                       user_name + "\" uses an " + plugin +
                                       " credential plugin; use a token or a client certificate");
        }
      }
      if ((*user)["username"] || (*user)["password"]) {
        return Status::Unimplemented(Where(path, user->Mark()) + ": user \"" + user_name +
                                     "\" uses basic auth, which Kubernetes removed in 1.19");
      }
      c.token = Str(*user, "token");
      c.token_file = resolve(Str(*user, "tokenFile"));
      if (c.token.empty() && !c.token_file.empty()) {
        Result<std::string> t = ReadSmallFile(c.token_file);
        if (!t.ok()) return t.status().WithContext("kubeconfig " + path + ": user " + user_name);
        c.token = Trim(*t);
      }
      c.client_cert_file = resolve(Str(*user, "client-certificate"));
      c.client_key_file = resolve(Str(*user, "client-key"));
      for (auto [key, out] : {std::pair{"client-certificate-data", &c.client_cert_pem},
                              std::pair{"client-key-data", &c.client_key_pem}}) {
        const std::string data = Str(*user, key);
        if (data.empty()) continue;
        Result<std::string> pem = Base64Decode(data);
        if (!pem.ok()) {
          return pem.status().WithContext(Where(path, (*user)[key].Mark()) + ": " + key);
        }
        *out = *pem;
      }
      const bool has_cert = !c.client_cert_file.empty() || !c.client_cert_pem.empty();
      const bool has_key = !c.client_key_file.empty() || !c.client_key_pem.empty();
      if (has_cert != has_key) {
        return Status::InvalidArgument(Where(path, user->Mark()) + ": user \"" + user_name +
                                       "\" needs both a client certificate and its key");
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(path, e.mark) + ": " + e.msg);
  }
}

}  // namespace amas::act
