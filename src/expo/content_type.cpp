#include <cctype>
#include <string>

#include "expo/expo.h"

namespace amas::expo {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

core::Result<Format> FormatFromContentType(std::string_view content_type) {
  std::string_view rest = content_type;
  size_t semi = rest.find(';');
  const std::string_view media = Trim(rest.substr(0, semi));
  std::string_view version;
  bool has_version = false;
  while (semi != std::string_view::npos) {
    rest.remove_prefix(semi + 1);
    semi = rest.find(';');
    const std::string_view param = Trim(rest.substr(0, semi));
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(Trim(param.substr(0, eq)), "version")) continue;
    version = Trim(param.substr(eq + 1));
    if (version.size() >= 2 && version.front() == '"' && version.back() == '"') {
      version = version.substr(1, version.size() - 2);
    }
    has_version = true;
  }
  if (EqualsIgnoreCase(media, "text/plain") && (!has_version || version == "0.0.4")) {
    return Format::kPrometheusText;
  }
  if (EqualsIgnoreCase(media, "application/openmetrics-text") &&
      (!has_version || version == "1.0.0")) {
    return Format::kOpenMetrics;
  }
  return core::Status::InvalidArgument(
      "unsupported Content-Type \"" + std::string(content_type) +
      "\": want text/plain; version=0.0.4 or application/openmetrics-text; version=1.0.0");
}

}  // namespace amas::expo
