#include "rules/yaml_reader.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <cmath>
#include <limits>

namespace amas::rules {
namespace {

using core::Result;
using core::Status;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(n.Scalar());
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The value node of key in a mapping, undefined when absent.
std::optional<std::pair<YAML::Node, YAML::Node>> Find(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      return std::make_pair(it->first, it->second);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<YamlNode> YamlNode::Parse(std::string_view text, std::string file) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return YamlNode(std::move(root), std::move(file), "");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": yaml: " + e.msg);
  }
}

YamlNode::YamlNode(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

bool YamlNode::IsEmpty() const {
  return IsNull() || ((node_.IsMap() || node_.IsSequence()) && node_.size() == 0);
}

int YamlNode::line() const {
  const int l = node_.Mark().line;
  return l < 0 ? 0 : l + 1;
}

int YamlNode::column() const {
  const int c = node_.Mark().column;
  return c < 0 ? 0 : c + 1;
}

std::string YamlNode::Where() const {
  return file_ + ":" + std::to_string(line()) + ":" + std::to_string(column());
}

Status YamlNode::Error(std::string_view message) const {
  std::string msg = Where() + ": ";
  if (!path_.empty()) msg += path_ + ": ";
  msg.append(message);
  return Status::InvalidArgument(std::move(msg));
}

Result<std::vector<YamlNode>> YamlNode::Elements() const {
  std::vector<YamlNode> out;
  if (IsNull()) return out;
  if (!node_.IsSequence()) return Error("expected a list, got " + KindName(node_));
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], file_, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

Result<YamlNode> YamlNode::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open file");
  std::ostringstream content;
  content << in.rdbuf();
  return Parse(content.str(), path);
}

Result<std::vector<std::pair<std::string, std::string>>> YamlNode::AsStringMap() const {
  Result<std::vector<std::pair<YamlNode, YamlNode>>> entries = Entries();
  if (!entries.ok()) return entries.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : *entries) {
    if (value.IsNull()) {
      out.emplace_back(key.raw().Scalar(), "");
      continue;
    }
    Result<std::string> v = value.AsString();
    if (!v.ok()) return v.status();
    out.emplace_back(key.raw().Scalar(), std::move(*v));
  }
  return out;
}

Result<std::vector<std::pair<YamlNode, YamlNode>>> YamlNode::Entries() const {
  std::vector<std::pair<YamlNode, YamlNode>> out;
  if (IsNull()) return out;
  if (!node_.IsMap()) return Error("expected a mapping, got " + KindName(node_));
  std::set<std::string, std::less<>> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    YamlNode key(it->first, file_, path_);
    if (!it->first.IsScalar())
      return key.Error("expected a string key, got " + KindName(it->first));
    const std::string& name = it->first.Scalar();
    if (!seen.insert(name).second) return key.Error("duplicate key " + Quote(name));
    out.emplace_back(std::move(key), YamlNode(it->second, file_, Join(path_, name)));
  }
  return out;
}

Result<std::string> YamlNode::AsString() const {
  if (!node_.IsScalar()) return Error("expected a string, got " + KindName(node_));
  return node_.Scalar();
}

Result<bool> YamlNode::AsBool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return Error("expected true or false, got " + KindName(node_));
}

Result<int64_t> YamlNode::AsInt() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return v;
  }
  return Error("expected an integer, got " + KindName(node_));
}

Result<double> YamlNode::AsDouble() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf") {
      return std::numeric_limits<double>::infinity();
    }
    if (s == "-.inf" || s == "-.Inf" || s == "-.INF")
      return -std::numeric_limits<double>::infinity();
    if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    double v = 0;
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return v;
  }
  return Error("expected a number, got " + KindName(node_));
}

Result<core::Duration> YamlNode::AsDuration() const {
  if (!node_.IsScalar()) return Error("expected a duration such as 15s, got " + KindName(node_));
  Result<core::Duration> d = core::Duration::Parse(node_.Scalar());
  if (!d.ok()) return Error(d.status().message());
  return d;
}

Result<int64_t> YamlNode::AsBytes() const {
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"B", 0},  {"KB", 1},  {"KiB", 1}, {"MB", 2},  {"MiB", 2}, {"GB", 3},  {"GiB", 3},
      {"TB", 4}, {"TiB", 4}, {"PB", 5},  {"PiB", 5}, {"EB", 6},  {"EiB", 6},
  };
  auto bad = [&] {
    return Error(
        "expected a size such as 10MB (units B, KB, MB, GB, TB, PB, EB or KiB, MiB, "
        "...), got " +
        KindName(node_));
  };
  if (!node_.IsScalar()) return bad();
  std::string_view s = node_.Scalar();
  if (s == "0") return 0;
  if (s.empty()) return bad();
  double total = 0;
  // Parts like "1GB512MB", each a number and a unit, as Go's units package reads them.
  while (!s.empty()) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v < 0) return bad();
    s.remove_prefix(static_cast<size_t>(ptr - s.data()));
    size_t n = 0;
    while (n < s.size() && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))) ++n;
    const std::string_view unit = s.substr(0, n);
    s.remove_prefix(n);
    int power = -1;
    for (const auto& [name, p] : kUnits) {
      if (name == unit) power = p;
    }
    if (power < 0) return bad();
    total += v * std::pow(1024.0, power);
  }
  if (total >= 9.2e18) return bad();
  return static_cast<int64_t>(total);
}

MapReader::MapReader(const YamlNode& node) : node_(node) {
  if (node.IsNull()) return;  // an empty mapping
  if (!node.IsMap()) {
    Fail(node.Error("expected a mapping, got " + KindName(node.raw())));
    return;
  }
  auto entries = node.Entries();  // reports duplicate keys
  if (!entries.ok()) Fail(entries.status());
}

std::optional<YamlNode> MapReader::Get(std::string_view key) {
  known_.emplace(key);
  auto found = Find(node_.raw(), key);
  if (!found || !found->second.IsDefined() || found->second.IsNull()) return std::nullopt;
  return YamlNode(found->second, node_.file(), Join(node_.path(), key));
}

bool MapReader::Present(std::string_view key) {
  known_.emplace(key);
  return Find(node_.raw(), key).has_value();
}

void MapReader::String(std::string_view key, std::string* out, bool required) {
  std::optional<YamlNode> n = Get(key);
  if (!n) {
    if (required) Fail(node_.Error("missing required field " + Quote(key)));
    return;
  }
  Result<std::string> v = n->AsString();
  if (!v.ok()) return Fail(v.status());
  *out = std::move(*v);
}

void MapReader::Bool(std::string_view key, bool* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<bool> v = n->AsBool();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::Int(std::string_view key, int64_t* out, bool required) {
  std::optional<YamlNode> n = Get(key);
  if (!n) {
    if (required) Fail(node_.Error("missing required field " + Quote(key)));
    return;
  }
  Result<int64_t> v = n->AsInt();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::Duration(std::string_view key, core::Duration* out, bool required) {
  std::optional<YamlNode> n = Get(key);
  if (!n) {
    if (required) Fail(node_.Error("missing required field " + Quote(key)));
    return;
  }
  Result<core::Duration> v = n->AsDuration();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::Bytes(std::string_view key, int64_t* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<int64_t> v = n->AsBytes();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::StringList(std::string_view key, std::vector<std::string>* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<std::vector<YamlNode>> elems = n->Elements();
  if (!elems.ok()) return Fail(elems.status());
  std::vector<std::string> values;
  for (const YamlNode& e : *elems) {
    Result<std::string> v = e.AsString();
    if (!v.ok()) return Fail(v.status());
    values.push_back(std::move(*v));
  }
  *out = std::move(values);
}

void MapReader::Unsupported(std::string_view key, std::string_view hint) {
  std::optional<YamlNode> n = Get(key);
  if (!n || n->IsEmpty()) return;
  std::string msg = "not supported yet by this version of amas-scaler";
  if (!hint.empty()) msg += std::string("; ") + std::string(hint);
  Fail(n->Error(msg));
}

void MapReader::Double(std::string_view key, double* out, bool required) {
  std::optional<YamlNode> n = Get(key);
  if (!n) {
    if (required) Fail(node_.Error("missing required field " + Quote(key)));
    return;
  }
  Result<double> v = n->AsDouble();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::Double(std::string_view key, std::optional<double>* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<double> v = n->AsDouble();
  if (!v.ok()) return Fail(v.status());
  *out = *v;
}

void MapReader::StringMap(std::string_view key,
                          std::vector<std::pair<std::string, std::string>>* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  auto v = n->AsStringMap();
  if (!v.ok()) return Fail(v.status());
  *out = std::move(*v);
}

void MapReader::Fail(Status status) {
  if (status_.ok()) status_ = std::move(status);
}

Status MapReader::Finish() {
  if (!status_.ok() || !node_.IsMap()) return status_;
  for (auto it = node_.raw().begin(); it != node_.raw().end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (known_.find(key) != known_.end()) continue;
    const YamlNode at(it->first, node_.file(), node_.path());
    return Status::InvalidArgument(at.Where() + ": unknown field " + Quote(key) +
                                   (node_.path().empty() ? "" : " in " + node_.path()));
  }
  return Status();
}

}  // namespace amas::rules
