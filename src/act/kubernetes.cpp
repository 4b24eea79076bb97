#include "act/kubernetes.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include "act/kubernetes_internal.h"

namespace amas::act {

using core::Result;
using core::Status;

namespace {

// DNS-1123 subdomain (namespaces, object names, groups): lower-case
// alphanumerics, '-' and '.', alphanumeric at both ends, at most 253 bytes.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string ScaleRef::Path() const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  return p + "/namespaces/" + namespace_name + "/" + resource + "/" + name + "/scale";
}

std::string ScaleRef::Describe() const {
  std::string what;
  if (group == "apps" && resource == "deployments") {
    what = "deployment";
  } else if (group == "apps" && resource == "statefulsets") {
    what = "statefulset";
  } else {
    what = group.empty() ? resource : resource + "." + group;
  }
  return what + " " + namespace_name + "/" + name;
}

Result<ScaleRef> MakeScaleRef(std::string_view api_version, std::string_view resource,
                              std::string_view namespace_name, std::string_view name) {
  ScaleRef ref;
  const size_t slash = api_version.find('/');
  if (slash == std::string_view::npos) {
    ref.version = std::string(api_version);
  } else {
    ref.group = std::string(api_version.substr(0, slash));
    ref.version = std::string(api_version.substr(slash + 1));
  }
  ref.resource = Lower(resource);
  // Kinds people write in config map to their plural resource.
  if (ref.resource == "deployment") ref.resource = "deployments";
  if (ref.resource == "statefulset") ref.resource = "statefulsets";
  if (ref.resource == "replicaset") ref.resource = "replicasets";
  ref.namespace_name = std::string(namespace_name);
  ref.name = std::string(name);
  const std::string what = "scale target " + std::string(resource) + " " +
                           std::string(namespace_name) + "/" + std::string(name);
  if (ref.version.empty() || !IsDnsSubdomain(ref.version) ||
      (!ref.group.empty() && !IsDnsSubdomain(ref.group))) {
    return Status::InvalidArgument(what + ": bad apiVersion \"" + std::string(api_version) + "\"");
  }
  if (!IsDnsSubdomain(ref.resource) || ref.resource.find('.') != std::string::npos) {
    return Status::InvalidArgument(what + ": bad resource \"" + std::string(resource) +
                                   "\" (want a plural like \"deployments\")");
  }
  if (!IsDnsSubdomain(ref.namespace_name)) {
    return Status::InvalidArgument(what + ": bad namespace \"" + ref.namespace_name + "\"");
  }
  if (!IsDnsSubdomain(ref.name)) {
    return Status::InvalidArgument(what + ": bad name \"" + ref.name + "\"");
  }
  return ref;
}

namespace k8s_internal {

Status ErrorForResponse(long http_status, std::string_view body, std::string_view method,
                        std::string_view what, std::string_view resource,
                        std::string_view namespace_name) {
  std::string detail;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("message") &&
      doc["message"].IsString()) {
    detail = doc["message"].GetString();
  } else {
    detail = std::string(body.substr(0, 200));
  }
  const std::string head = std::string(what) + ": " + std::string(method) + " scale: HTTP " +
                           std::to_string(http_status);
  const std::string tail = detail.empty() ? "" : " (" + detail + ")";
  switch (http_status) {
    case 401:
      return Status::Unauthenticated(head + " Unauthorized" + tail +
                                     ": the API server refused our credentials; check the "
                                     "service-account token or the kubeconfig user");
    case 403:
      return Status::PermissionDenied(head + " Forbidden" + tail + ": grant get and patch on " +
                                      std::string(resource) + "/scale in namespace " +
                                      std::string(namespace_name) + " (see deploy/rbac.yaml)");
    case 404:
      return Status::NotFound(head + " Not Found" + tail +
                              ": check kind, namespace and name, and that the resource has a "
                              "scale subresource");
    case 409:
      return Status::Aborted(head + " Conflict" + tail);
    case 400:
    case 415:
    case 422:
      return Status::InvalidArgument(head + tail);
    case 429:
      return Status::Unavailable(head + " Too Many Requests" + tail);
    default:
      if (http_status >= 500) return Status::Unavailable(head + tail);
      return Status::Internal(head + tail);
  }
}

}  // namespace k8s_internal

Result<KubernetesActuator::Scale> KubernetesActuator::Read() {
  Result<KubeResponse> resp = client_->Do("GET", path_);
  if (!resp.ok()) return resp.status().WithContext(Describe());
  if (resp->status != 200) {
    return k8s_internal::ErrorForResponse(resp->status, resp->body, "GET", Describe(),
                                          ref_.resource, ref_.namespace_name);
  }
  rapidjson::Document doc;
  doc.Parse(resp->body.data(), resp->body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Status::Unavailable(Describe() + ": GET scale: the reply is not JSON");
  }
  Scale s;
  // autoscaling/v1 ScaleSpec.replicas is omitempty: absent means 0.
  if (auto spec = doc.FindMember("spec"); spec != doc.MemberEnd() && spec->value.IsObject()) {
    if (auto r = spec->value.FindMember("replicas"); r != spec->value.MemberEnd()) {
      if (!r->value.IsInt()) {
        return Status::Internal(Describe() + ": GET scale: spec.replicas is not an integer");
      }
      s.replicas = r->value.GetInt();
    }
  }
  if (auto md = doc.FindMember("metadata"); md != doc.MemberEnd() && md->value.IsObject()) {
    if (auto rv = md->value.FindMember("resourceVersion");
        rv != md->value.MemberEnd() && rv->value.IsString()) {
      s.resource_version = rv->value.GetString();
    }
  }
  return s;
}

Result<int32_t> KubernetesActuator::Current() {
  std::lock_guard lock(mu_);
  Result<Scale> s = Read();
  if (!s.ok()) {
    last_read_.reset();
    return s.status();
  }
  last_read_ = *s;
  return s->replicas;
}

Status KubernetesActuator::Apply(int32_t desired, Fence) {
  if (desired < 0) {
    return Status::InvalidArgument(Describe() + ": negative replicas " + std::to_string(desired));
  }
  std::lock_guard lock(mu_);
  std::optional<Scale> seen = std::exchange(last_read_, std::nullopt);
  // A cached read is good for a conditional write (a stale one just gets a
  // 409), but "already there" is only believed from a fresh read.
  if (seen && seen->replicas == desired) seen.reset();
  for (int conflicts = 0;; ++conflicts) {
    if (!seen) {
      Result<Scale> s = Read();
      if (!s.ok()) return s.status();
      seen = *s;
    }
    if (seen->replicas == desired) return Status::Ok();
    // The resourceVersion we read is a precondition: if someone changed the
    // object since, the server answers 409 and we decide again on fresh data.
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    if (!seen->resource_version.empty()) {
      w.Key("metadata");
      w.StartObject();
      w.Key("resourceVersion");
      w.String(seen->resource_version.c_str());
      w.EndObject();
    }
    w.Key("spec");
    w.StartObject();
    w.Key("replicas");
    w.Int(desired);
    w.EndObject();
    w.EndObject();
    Result<KubeResponse> resp =
        client_->Do("PATCH", path_, buf.GetString(), "application/merge-patch+json");
    if (!resp.ok()) return resp.status().WithContext(Describe());
    if (resp->status == 200 || resp->status == 201) return Status::Ok();
    if (resp->status != 409) {
      return k8s_internal::ErrorForResponse(resp->status, resp->body, "PATCH", Describe(),
                                            ref_.resource, ref_.namespace_name);
    }
    if (conflicts >= client_->options().conflict_retries) {
      return Status::Aborted(Describe() + ": still conflicting after " + std::to_string(conflicts) +
                             " re-reads: another writer keeps changing the object");
    }
    seen.reset();
  }
}

}  // namespace amas::act
