// yaml_reader.h: YAML that says where, for config and rule files.
// A YamlNode is a yaml-cpp node with its file and dotted path
// ("scrape_configs[0].static_configs[1]"); errors read
// "file:line:col: <path>: message", 1-based. MapReader reads one mapping
// field by field and Finish() reports the first key nobody asked for, so a
// typo ("scrape_intervall") is an error, as are duplicate keys. A key that is
// present with null ("key:") counts as absent. yaml-cpp exceptions never
// escape. Depends on core and yaml-cpp only, so it can move to a shared home.
#ifndef AMAS_RULES_YAML_READER_H_
#define AMAS_RULES_YAML_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.h"

namespace amas::rules {

class YamlNode {
 public:
  // A whole document; syntax errors carry file:line:col. An empty document is a null node.
  static core::Result<YamlNode> Parse(std::string_view text, std::string file);
  // The same for a file; NotFound when it cannot be read.
  static core::Result<YamlNode> LoadFile(const std::string& path);

  YamlNode(YAML::Node node, std::string file, std::string path);

  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }
  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  // Null, an empty list or an empty mapping: nothing a feature would need to honour.
  bool IsEmpty() const;
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  int line() const;           // 1-based; 0 when unknown
  int column() const;         // 1-based; 0 when unknown
  std::string Where() const;  // "file:line:col"
  // InvalidArgument("file:line:col: path: message"); no "path: " at the root.
  core::Status Error(std::string_view message) const;

  // Sequence elements with paths "path[i]"; null is an empty list.
  core::Result<std::vector<YamlNode>> Elements() const;
  // Mapping entries in file order as (key text, value with path "path.key").
  core::Result<std::vector<std::pair<YamlNode, YamlNode>>> Entries() const;
  core::Result<std::string> AsString() const;
  core::Result<bool> AsBool() const;
  core::Result<int64_t> AsInt() const;
  core::Result<double> AsDouble() const;  // also .inf, -.inf, .nan
  core::Result<core::Duration> AsDuration() const;
  // Prometheus byte sizes, powers of 1024: "512", "10MB", "1GiB", "0".
  core::Result<int64_t> AsBytes() const;
  // A mapping of strings to strings (labels, annotations), in file order.
  core::Result<std::vector<std::pair<std::string, std::string>>> AsStringMap() const;

  const YAML::Node& raw() const { return node_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

// Reads one mapping. Getters leave *out untouched when the key is absent, so
// defaults stay; the first error is kept and returned by Finish(), which
// otherwise reports the first unknown key:
//   "demo.yaml:7:5: unknown field \"scrape_intervall\" in scrape_configs[0]".
class MapReader {
 public:
  explicit MapReader(const YamlNode& node);

  std::optional<YamlNode> Get(std::string_view key);  // marks the key known
  bool Present(std::string_view key);                 // the key is written, even as "key:" (null)
  void String(std::string_view key, std::string* out, bool required = false);
  void Bool(std::string_view key, bool* out);
  // Marks the key known; true iff it has a non-null value.
  bool Has(std::string_view key) { return Get(key).has_value(); }
  void Int(std::string_view key, int64_t* out, bool required = false);
  void Double(std::string_view key, double* out, bool required = false);
  void Double(std::string_view key, std::optional<double>* out);
  void Duration(std::string_view key, core::Duration* out, bool required = false);
  void StringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>* out);
  void Bytes(std::string_view key, int64_t* out);
  void StringList(std::string_view key, std::vector<std::string>* out);
  // A known field whose feature is not there yet: an error unless IsEmpty().
  void Unsupported(std::string_view key, std::string_view hint = "");
  void Fail(core::Status status);  // keeps only the first error
  bool ok() const { return status_.ok(); }
  core::Status Finish();
  const YamlNode& node() const { return node_; }

 private:
  YamlNode node_;
  core::Status status_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace amas::rules

#endif  // AMAS_RULES_YAML_READER_H_
