// label_block.h: the {...} part of a sample line, in either format.
// FindBlockEnd finds the closing brace quickly (the scraper's hot path);
// LabelBlock decodes and validates what is between the braces. Positions in
// errors point into the body so the parser can say line:col.
#ifndef AMAS_EXPO_LABEL_BLOCK_H_
#define AMAS_EXPO_LABEL_BLOCK_H_

#include <string>
#include <string_view>
#include <vector>

#include "expo/expo.h"

namespace amas::expo::internal {

// Text 0.0.4 allows blanks around tokens and a trailing comma and knows only
// the escapes \\ \" \n; OpenMetrics allows neither blanks nor a trailing
// comma, and keeps an unknown escape such as \z as written.
enum class Dialect { kText, kOpenMetrics };

struct SyntaxError {
  const char* pos = nullptr;
  std::string message;
};

// The '}' that closes the block opened at *open, skipping quoted strings;
// nullptr with *err set if the line ends first.
const char* FindBlockEnd(const char* open, const char* end, SyntaxError* err);

struct DecodedLabel {
  std::string_view name;
  std::string_view value;
  const char* name_pos;   // in the body, for errors
  const char* value_pos;  // the opening quote
  const char* end;        // just past the closing quote
};

// Reusable: keeps its buffers' capacity across lines. Consecutive lines of
// a family repeat most of their labels, so Decode keeps the labels of the
// last block decoded whose text the new block repeats byte for byte from the
// '{' on (rebased onto the new block) and decodes only the rest. The last
// block must still be readable: both lie in one body.
class LabelBlock {
 public:
  // Decodes the block between open ('{') and close ('}'). A quoted string
  // that is not followed by '=' is the metric name ({"my.metric", a="b"}).
  bool Decode(const char* open, const char* close, Dialect dialect, NameValidation names,
              SyntaxError* err);

  bool has_metric_name() const { return has_metric_name_; }
  std::string_view metric_name() const { return metric_name_; }
  const char* metric_name_pos() const { return metric_name_pos_; }
  const std::vector<DecodedLabel>& labels() const { return labels_; }

 private:
  bool CheckDuplicates(size_t known_distinct, SyntaxError* err);
  // How many labels of the last block the one at open repeats; *resume is
  // where decoding goes on (just past the last one kept).
  size_t KeepRepeated(const char* open, const char* close, Dialect dialect, NameValidation names,
                      const char** resume);
  // Notes a block decoded without error, for KeepRepeated.
  void Remember(const char* open, const char* close, Dialect dialect, NameValidation names);

  std::string arena_;  // decoded escapes; capacity reserved so views stay put
  std::vector<DecodedLabel> labels_;
  std::vector<const DecodedLabel*> sorted_;
  bool has_metric_name_ = false;
  std::string_view metric_name_;
  const char* metric_name_pos_ = nullptr;
  // The last block decoded, when its labels may be kept: it decoded without
  // error, had no quoted metric name and nothing in arena_.
  const char* last_open_ = nullptr;
  const char* last_close_ = nullptr;
  Dialect last_dialect_ = Dialect::kText;
  NameValidation last_names_ = NameValidation::kLegacy;
};

// Decodes a quoted name or value that starts at the '"' at open; scanning
// stops at limit. *after is the byte after the closing quote. Escapes are
// decoded into *arena, which must have room for limit - open more bytes
// (reserve first: earlier views into it must not move). `what` names the
// string in error messages ("label value", "metric name", ...).
bool DecodeQuotedString(const char* open, const char* limit, Dialect dialect, const char* what,
                        std::string* arena, std::string_view* out, const char** after,
                        SyntaxError* err);

// HELP text: \\ and \n always; \" too (expfmt and OpenMetrics). Text 0.0.4
// rejects any other escape (like expfmt); OpenMetrics keeps it as written.
// *out views [begin, end) when there is nothing to unescape, else *scratch.
bool UnescapeHelp(const char* begin, const char* end, Dialect dialect, std::string* scratch,
                  std::string_view* out, SyntaxError* err);

// Go-%q-like rendering of a fragment for error messages, cut at 60 bytes.
std::string Quote(std::string_view s);

}  // namespace amas::expo::internal

#endif  // AMAS_EXPO_LABEL_BLOCK_H_
