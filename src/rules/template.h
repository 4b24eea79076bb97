// template.h: the part of Go's text/template that Prometheus alert labels
// and annotations use. Compile() checks the text once (at rule load) and
// names the offset of any error; Expand() cannot fail on a compiled
// template except for a function given a value it rejects.
// Supported: text and {{ }} actions with {{- -}} trimming, comments, $labels,
// $labels.name, $value, $externalLabels.name, $externalURL, .Labels, .Value,
// string and number literals, pipelines (a | f b), if/else/end, and the
// functions humanize, humanize1024, humanizeDuration, humanizePercentage,
// humanizeTimestamp, printf, title, toUpper, toLower, reReplaceAll, match.
#ifndef AMAS_RULES_TEMPLATE_H_
#define AMAS_RULES_TEMPLATE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::rules {

struct TemplateData {
  const core::Labels* labels = nullptr;           // $labels
  double value = 0;                               // $value
  const core::Labels* external_labels = nullptr;  // $externalLabels
  std::string_view external_url;                  // $externalURL
};

class Template {
 public:
  static core::Result<Template> Compile(std::string_view text);
  core::Result<std::string> Expand(const TemplateData& data) const;
  // True iff the text has no actions: Expand returns it unchanged.
  bool is_literal() const;

  struct Node;  // the parsed form (template.cpp)

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;  // immutable, shared by copies
};


}  // namespace amas::rules

#endif  // AMAS_RULES_TEMPLATE_H_
