// yaml_reader.h: YAML that says where. Used for rule files and the config.
// A YamlNode is a yaml-cpp node plus its file and dotted path
// ("groups[0].rules[2].expr"); every error reads
// "file:line:col: <path>: message" with 1-based positions.
// MapReader reads a mapping field by field and, in Finish(), reports the
// first key that was never asked for: unknown keys are errors, so a typo
// ("abov") cannot pass silently. Duplicate keys are errors too.
// Thread rule: values; no shared state. yaml-cpp exceptions never escape.
#ifndef AMAS_RULES_YAML_READER_H_
#define AMAS_RULES_YAML_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::rules {

class YamlNode {
 public:
  // Parses a whole document; syntax errors carry file:line:col.
  static core::Result<YamlNode> Load(std::string_view content, std::string file);
  static core::Result<YamlNode> LoadFile(const std::string& path);

  YamlNode(YAML::Node node, std::string file, std::string path);

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  int line() const;    // 1-based; 0 when unknown
  int column() const;  // 1-based; 0 when unknown
  // "file:line:col"
  std::string Where() const;
  // InvalidArgument("file:line:col: path: message").
  core::Status Error(std::string_view message) const;

  // Elements of a sequence, with paths "path[i]"; an error if not a sequence.
  core::Result<std::vector<YamlNode>> Elements() const;
  // Scalars. Strings must be scalars; numbers accept YAML's .inf/-.inf/.nan.
  core::Result<std::string> AsString() const;
  core::Result<double> AsDouble() const;
  core::Result<int64_t> AsInt() const;
  core::Result<bool> AsBool() const;
  core::Result<core::Duration> AsDuration() const;
  // A mapping of strings to strings (labels, annotations), keys in file order.
  core::Result<std::vector<std::pair<std::string, std::string>>> AsStringMap() const;
  // The original text of a scalar, for echoing config back.
  const YAML::Node& raw() const { return node_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

// Reads one mapping. Each getter leaves *out untouched when the key is absent
// (so defaults stay) and records the first error; Finish() returns it, or
// the first unknown key.
class MapReader {
 public:
  explicit MapReader(const YamlNode& node);

  bool Has(std::string_view key);  // marks the key as known
  std::optional<YamlNode> Get(std::string_view key);
  void String(std::string_view key, std::string* out, bool required = false);
  void Double(std::string_view key, double* out, bool required = false);
  void Double(std::string_view key, std::optional<double>* out);
  void Int(std::string_view key, int64_t* out, bool required = false);
  void Bool(std::string_view key, bool* out);
  void Duration(std::string_view key, core::Duration* out, bool required = false);
  void StringList(std::string_view key, std::vector<std::string>* out);
  void StringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>* out);
  // Records an error found by the caller (only the first one is kept).
  void Fail(core::Status status);
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
