#include "rules/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace amas::rules {
namespace {

using core::Result;
using core::Status;

std::string Position(const std::string& file, int line, int col) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out.push_back('"');
  return out;
}

const char* KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "unknown";
}

}  // namespace

Result<YamlNode> YamlNode::Load(std::string_view content, std::string file) {
  try {
    YAML::Node root = YAML::Load(std::string(content));
    return YamlNode(root, std::move(file), "");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Position(file, e.mark.line + 1, e.mark.column + 1) +
                                   ": yaml: " + e.msg);
  }
}

Result<YamlNode> YamlNode::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return Load(ss.str(), path);
}

YamlNode::YamlNode(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

int YamlNode::line() const {
  const YAML::Mark m = node_.Mark();
  return m.line < 0 ? 0 : m.line + 1;
}

int YamlNode::column() const {
  const YAML::Mark m = node_.Mark();
  return m.column < 0 ? 0 : m.column + 1;
}

std::string YamlNode::Where() const { return Position(file_, line(), column()); }

Status YamlNode::Error(std::string_view message) const {
  std::string msg = Where() + ": ";
  if (!path_.empty()) msg.append(path_).append(": ");
  msg.append(message);
  return Status::InvalidArgument(std::move(msg));
}

Result<std::vector<YamlNode>> YamlNode::Elements() const {
  if (IsNull()) return std::vector<YamlNode>{};
  if (!node_.IsSequence()) {
    return Error(std::string("expected a list, got ") + KindName(node_));
  }
  std::vector<YamlNode> out;
  out.reserve(node_.size());
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], file_, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

Result<std::string> YamlNode::AsString() const {
  if (!node_.IsScalar()) return Error(std::string("expected a string, got ") + KindName(node_));
  return node_.Scalar();
}

Result<double> YamlNode::AsDouble() const {
  if (!node_.IsScalar()) return Error(std::string("expected a number, got ") + KindName(node_));
  const std::string& s = node_.Scalar();
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Error("expected a number, got " + Quote(s));
  }
  return v;
}

Result<int64_t> YamlNode::AsInt() const {
  if (!node_.IsScalar()) return Error(std::string("expected an integer, got ") + KindName(node_));
  const std::string& s = node_.Scalar();
  int64_t v = 0;
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Error("expected an integer, got " + Quote(s));
  }
  return v;
}

Result<bool> YamlNode::AsBool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return Error("expected true or false, got " + Quote(s));
  }
  return Error(std::string("expected true or false, got ") + KindName(node_));
}

Result<core::Duration> YamlNode::AsDuration() const {
  if (!node_.IsScalar()) return Error(std::string("expected a duration, got ") + KindName(node_));
  Result<core::Duration> d = core::Duration::Parse(node_.Scalar());
  if (!d.ok()) return Error(d.status().message());
  return d;
}

Result<std::vector<std::pair<std::string, std::string>>> YamlNode::AsStringMap() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (IsNull()) return out;
  if (!node_.IsMap()) return Error(std::string("expected a mapping, got ") + KindName(node_));
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    YamlNode key(it->first, file_, path_);
    YamlNode value(it->second, file_, path_ + "." + it->first.Scalar());
    Result<std::string> k = key.AsString();
    if (!k.ok()) return k.status();
    for (const auto& [seen, unused] : out) {
      if (seen == *k) return key.Error("duplicate key " + Quote(*k));
    }
    if (value.IsNull()) {
      out.emplace_back(*k, "");
      continue;
    }
    Result<std::string> v = value.AsString();
    if (!v.ok()) return v.status();
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

MapReader::MapReader(const YamlNode& node) : node_(node) {
  if (node.IsNull()) return;  // an empty mapping
  if (!node.IsMap()) {
    status_ = node.Error(std::string("expected a mapping, got ") + KindName(node.raw()));
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (auto it = node.raw().begin(); it != node.raw().end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (!seen.insert(key).second) {
      Fail(YamlNode(it->first, node.file(), node.path()).Error("duplicate key " + Quote(key)));
      return;
    }
  }
}

bool MapReader::Has(std::string_view key) {
  known_.emplace(key);
  return node_.IsMap() && node_.raw()[std::string(key)].IsDefined() &&
         !node_.raw()[std::string(key)].IsNull();
}

std::optional<YamlNode> MapReader::Get(std::string_view key) {
  if (!Has(key)) return std::nullopt;
  std::string path = node_.path().empty() ? std::string(key) : node_.path() + "." + std::string(key);
  return YamlNode(node_.raw()[std::string(key)], node_.file(), std::move(path));
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

void MapReader::Bool(std::string_view key, bool* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<bool> v = n->AsBool();
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

void MapReader::StringList(std::string_view key, std::vector<std::string>* out) {
  std::optional<YamlNode> n = Get(key);
  if (!n) return;
  Result<std::vector<YamlNode>> elems = n->Elements();
  if (!elems.ok()) return Fail(elems.status());
  out->clear();
  for (const YamlNode& e : *elems) {
    Result<std::string> v = e.AsString();
    if (!v.ok()) return Fail(v.status());
    out->push_back(std::move(*v));
  }
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
    if (known_.find(key) == known_.end()) {
      YamlNode at(it->first, node_.file(), node_.path());
      std::string where = node_.path().empty() ? "" : " in " + node_.path();
      return Status::InvalidArgument(at.Where() + ": unknown field " + Quote(key) + where);
    }
  }
  return Status();
}

}  // namespace amas::rules
