#include "rules/template.h"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <variant>

#include "promql/go_strconv.h"

namespace amas::rules {

using core::Result;
using core::Status;

namespace {

// One operand of a command.
struct Arg {
  enum class Kind { kLabels, kLabel, kValue, kExternalLabels, kExternalLabel, kExternalURL,
                    kString, kNumber, kFunc };
  Kind kind;
  std::string text;  // label name, string literal, function name
  double number = 0;
};

using Command = std::vector<Arg>;
using Pipeline = std::vector<Command>;

// A runtime value.
struct Val {
  enum class Kind { kString, kNumber, kLabels };
  Kind kind = Kind::kString;
  std::string str;
  double num = 0;
  const core::Labels* labels = nullptr;
};

std::string FormatG4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

struct Template::Node {
  enum class Kind { kText, kAction, kIf };
  Kind kind = Kind::kText;
  std::string text;
  Pipeline pipeline;
  std::vector<Node> then_nodes;
  std::vector<Node> else_nodes;
};

namespace {

using Node = Template::Node;

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

const char* const kFunctions[] = {
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "printf",   "title",        "toUpper",          "toLower",            "reReplaceAll",
    "match",
};

bool IsFunction(std::string_view name) {
  for (const char* f : kFunctions) {
    if (name == f) return true;
  }
  return false;
}

class Compiler {
 public:
  explicit Compiler(std::string_view text) : text_(text) {}

  Result<std::vector<Node>> Run() {
    std::vector<Node> nodes;
    std::string end_keyword;
    Status s = Block(&nodes, &end_keyword);
    if (!s.ok()) return s;
    if (!end_keyword.empty()) return Error(last_action_, "unexpected {{" + end_keyword + "}}");
    return nodes;
  }

 private:
  Status Error(size_t offset, std::string msg) const {
    return Status::InvalidArgument("template: offset " + std::to_string(offset) + ": " + msg);
  }

  // Parses nodes until end of text or an {{else}}/{{end}}, whose keyword
  // goes to *end_keyword.
  Status Block(std::vector<Node>* out, std::string* end_keyword) {
    while (pos_ < text_.size()) {
      size_t open = text_.find("{{", pos_);
      std::string_view literal = text_.substr(pos_, open == std::string_view::npos
                                                         ? std::string_view::npos
                                                         : open - pos_);
      if (open == std::string_view::npos) {
        AddText(out, literal);
        pos_ = text_.size();
        break;
      }
      size_t inner = open + 2;
      if (inner + 1 < text_.size() && text_[inner] == '-' && IsSpace(text_[inner + 1])) {
        literal = TrimRight(literal);
        ++inner;
      }
      AddText(out, literal);
      size_t close = text_.find("}}", inner);
      if (close == std::string_view::npos) return Error(open, "unclosed action");
      size_t action_end = close;
      bool trim_after = false;
      if (close >= 2 && text_[close - 1] == '-' && IsSpace(text_[close - 2]) &&
          close - 1 >= inner) {
        action_end = close - 1;
        trim_after = true;
      }
      last_action_ = open;
      std::string_view action = Trim(text_.substr(inner, action_end - inner));
      pos_ = close + 2;
      if (trim_after) {
        while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      }
      if (action.starts_with("/*")) {
        if (!action.ends_with("*/")) return Error(open, "unclosed comment");
        continue;
      }
      std::string_view keyword = action.substr(0, action.find_first_of(" \t\n"));
      if (keyword == "end" || keyword == "else") {
        if (action != keyword) return Error(open, "unexpected text after " + std::string(keyword));
        *end_keyword = std::string(keyword);
        return Status();
      }
      if (keyword == "if") {
        Node node;
        node.kind = Node::Kind::kIf;
        Status s = ParsePipeline(action.substr(2), open, &node.pipeline);
        if (!s.ok()) return s;
        std::string end;
        s = Block(&node.then_nodes, &end);
        if (!s.ok()) return s;
        if (end == "else") {
          s = Block(&node.else_nodes, &end);
          if (!s.ok()) return s;
          if (end != "end") return Error(open, "unclosed {{if}}: missing {{end}}");
        } else if (end != "end") {
          return Error(open, "unclosed {{if}}: missing {{end}}");
        }
        out->push_back(std::move(node));
        continue;
      }
      if (keyword == "range" || keyword == "with" || keyword == "define" ||
          keyword == "template" || keyword == "block" || keyword.find(":=") != keyword.npos ||
          action.find(":=") != std::string_view::npos) {
        return Status::Unimplemented("template: offset " + std::to_string(open) + ": {{" +
                                     std::string(keyword) + "}} is not supported");
      }
      Node node;
      node.kind = Node::Kind::kAction;
      Status s = ParsePipeline(action, open, &node.pipeline);
      if (!s.ok()) return s;
      out->push_back(std::move(node));
    }
    return Status();
  }

  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static std::string_view Trim(std::string_view s) {
    while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
    return TrimRight(s);
  }
  static std::string_view TrimRight(std::string_view s) {
    while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
    return s;
  }

  static void AddText(std::vector<Node>* out, std::string_view text) {
    if (text.empty()) return;
    Node n;
    n.text = std::string(text);
    out->push_back(std::move(n));
  }

  Status ParsePipeline(std::string_view src, size_t offset, Pipeline* out) {
    Command cmd;
    size_t i = 0;
    auto finish_command = [&]() -> Status {
      if (cmd.empty()) return Error(offset, "missing value for command");
      if (cmd.size() > 1 && cmd[0].kind != Arg::Kind::kFunc) {
        return Error(offset, "can't give argument to non-function");
      }
      out->push_back(std::move(cmd));
      cmd.clear();
      return Status();
    };
    while (i < src.size()) {
      const char c = src[i];
      if (IsSpace(c)) {
        ++i;
        continue;
      }
      if (c == '|') {
        Status s = finish_command();
        if (!s.ok()) return s;
        ++i;
        continue;
      }
      if (c == '"' || c == '`') {
        std::string value;
        size_t j = i + 1;
        bool closed = false;
        while (j < src.size()) {
          if (src[j] == c) {
            closed = true;
            break;
          }
          if (c == '"' && src[j] == '\\' && j + 1 < src.size()) {
            const char e = src[j + 1];
            value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
            j += 2;
            continue;
          }
          value.push_back(src[j]);
          ++j;
        }
        if (!closed) return Error(offset, "unterminated quoted string");
        cmd.push_back({Arg::Kind::kString, std::move(value), 0});
        i = j + 1;
        continue;
      }
      size_t j = i;
      while (j < src.size() && !IsSpace(src[j]) && src[j] != '|') ++j;
      std::string_view word = src.substr(i, j - i);
      i = j;
      Result<Arg> arg = ParseWord(word, offset);
      if (!arg.ok()) return arg.status();
      cmd.push_back(std::move(*arg));
    }
    Status s = finish_command();
    if (!s.ok()) return s;
    // A function that is not first in a pipeline receives the piped value.
    for (size_t k = 1; k < out->size(); ++k) {
      if ((*out)[k][0].kind != Arg::Kind::kFunc) {
        return Error(offset, "non-function in pipeline position " + std::to_string(k + 1));
      }
    }
    return Status();
  }

  Result<Arg> ParseWord(std::string_view word, size_t offset) {
    auto label_access = [&](std::string_view rest, Arg::Kind whole,
                            Arg::Kind one) -> Result<Arg> {
      if (rest.empty()) return Arg{whole, "", 0};
      if (rest[0] != '.' || rest.size() == 1) return Error(offset, "bad field access");
      std::string name(rest.substr(1));
      for (char ch : name) {
        if (!IsIdentChar(ch)) return Error(offset, "bad label name \"" + name + "\"");
      }
      return Arg{one, name, 0};
    };
    if (word.starts_with("$labels")) {
      return label_access(word.substr(7), Arg::Kind::kLabels, Arg::Kind::kLabel);
    }
    if (word.starts_with(".Labels")) {
      return label_access(word.substr(7), Arg::Kind::kLabels, Arg::Kind::kLabel);
    }
    if (word.starts_with("$externalLabels")) {
      return label_access(word.substr(15), Arg::Kind::kExternalLabels,
                          Arg::Kind::kExternalLabel);
    }
    if (word == "$value" || word == ".Value") return Arg{Arg::Kind::kValue, "", 0};
    if (word == "$externalURL" || word == ".ExternalURL") {
      return Arg{Arg::Kind::kExternalURL, "", 0};
    }
    if (word[0] == '$' || word[0] == '.') {
      return Error(offset, "undefined variable or field \"" + std::string(word) + "\"");
    }
    if ((word[0] >= '0' && word[0] <= '9') || word[0] == '-' || word[0] == '+') {
      double v = 0;
      const char* b = word.data() + (word[0] == '+' ? 1 : 0);
      auto [ptr, ec] = std::from_chars(b, word.data() + word.size(), v);
      if (ec != std::errc() || ptr != word.data() + word.size()) {
        return Error(offset, "bad number \"" + std::string(word) + "\"");
      }
      return Arg{Arg::Kind::kNumber, std::string(word), v};
    }
    if (word == "query" || word == "first" || word == "label" || word == "value" ||
        word == "strvalue" || word == "sortByLabel") {
      return Status::Unimplemented("template: offset " + std::to_string(offset) + ": function \"" +
                                   std::string(word) + "\" is not supported");
    }
    if (!IsFunction(word)) {
      return Error(offset, "function \"" + std::string(word) + "\" not defined");
    }
    return Arg{Arg::Kind::kFunc, std::string(word), 0};
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t last_action_ = 0;
};

std::string GoString(const Val& v) {
  switch (v.kind) {
    case Val::Kind::kString: return v.str;
    case Val::Kind::kNumber: return promql::FormatFloatG(v.num);
    case Val::Kind::kLabels: {
      // Go prints a map as map[k:v k:v].
      std::string out = "map[";
      bool first = true;
      for (core::Label l : *v.labels) {
        if (!first) out.push_back(' ');
        first = false;
        out.append(l.name).push_back(':');
        out.append(l.value);
      }
      out.push_back(']');
      return out;
    }
  }
  return "";
}

Result<double> ToFloat(const Val& v) {
  if (v.kind == Val::Kind::kNumber) return v.num;
  if (v.kind == Val::Kind::kString) {
    double d = 0;
    const std::string& s = v.str;
    if (s == "NaN") return std::nan("");
    if (s == "+Inf" || s == "Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && ptr == s.data() + s.size()) return d;
  }
  return Status::InvalidArgument("cannot convert \"" + GoString(v) + "\" to a number");
}

std::string Humanize(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
      if (std::fabs(v) >= 1 || v == 0) break;
      prefix = p;
      v *= 1000;
    }
  }
  return FormatG4(v) + prefix;
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return FormatG4(v) + prefix;
}

std::string HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  if (v == 0) return FormatG4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    const auto total = static_cast<int64_t>(v);
    const int64_t seconds = total % 60, minutes = (total / 60) % 60;
    const int64_t hours = (total / 3600) % 24, days = total / 86400;
    char buf[128];
    if (days != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldd %lldh %lldm %llds", sign.c_str(),
                    static_cast<long long>(days), static_cast<long long>(hours),
                    static_cast<long long>(minutes), static_cast<long long>(seconds));
    } else if (hours != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldh %lldm %llds", sign.c_str(),
                    static_cast<long long>(hours), static_cast<long long>(minutes),
                    static_cast<long long>(seconds));
    } else if (minutes != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldm %llds", sign.c_str(),
                    static_cast<long long>(minutes), static_cast<long long>(seconds));
    } else {
      return sign + FormatG4(v) + "s";
    }
    return buf;
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return FormatG4(v) + prefix + "s";
}

std::string HumanizeTimestamp(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  core::Time t = core::Time::FromUnixMillis(static_cast<int64_t>(std::llround(v * 1000)));
  std::string rfc = t.ToRFC3339();  // 2026-11-27T18:30:00(.123)Z
  rfc[10] = ' ';
  rfc.pop_back();
  return rfc + " +0000 UTC";
}

std::string Title(std::string s) {
  bool start = true;
  for (char& c : s) {
    const bool letter = IsIdentChar(c) && c != '_';
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    start = !letter;
  }
  return s;
}

// Go's fmt.Sprintf for the verbs rule annotations use.
Result<std::string> Printf(const std::string& format, const std::vector<Val>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    size_t j = i + 1;
    while (j < format.size() && std::string_view("+-# 0").find(format[j]) != std::string_view::npos) ++j;
    while (j < format.size() && ((format[j] >= '0' && format[j] <= '9') || format[j] == '.')) ++j;
    if (j >= format.size()) return Status::InvalidArgument("printf: incomplete verb");
    const char verb = format[j];
    const std::string spec = format.substr(i, j - i);
    i = j;
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (next_arg >= args.size()) {
      out.append("%!").push_back(verb);
      out.append("(MISSING)");
      continue;
    }
    const Val& arg = args[next_arg++];
    char buf[512];
    switch (verb) {
      case 'f': case 'e': case 'g': case 'F': case 'E': case 'G': {
        Result<double> d = ToFloat(arg);
        if (!d.ok()) return d.status();
        if (std::isnan(*d) || std::isinf(*d)) {
          out.append(FormatG4(*d));
          break;
        }
        std::snprintf(buf, sizeof buf, (spec + verb).c_str(), *d);
        out.append(buf);
        break;
      }
      case 'd': {
        Result<double> d = ToFloat(arg);
        if (!d.ok()) return d.status();
        if (arg.kind == Val::Kind::kNumber && *d != std::floor(*d)) {
          out.append("%!d(float64=" + promql::FormatFloatG(*d) + ")");
          break;
        }
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(*d));
        out.append(buf);
        break;
      }
      case 's': case 'v': {
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), GoString(arg).c_str());
        out.append(buf);
        break;
      }
      case 'q': {
        out.push_back('"');
        for (char c : GoString(arg)) {
          if (c == '"' || c == '\\') out.push_back('\\');
          if (c == '\n') {
            out.append("\\n");
            continue;
          }
          out.push_back(c);
        }
        out.push_back('"');
        break;
      }
      default:
        out.append("%!").push_back(verb);
        out.append("(" + GoString(arg) + ")");
    }
  }
  return out;
}

class Expander {
 public:
  explicit Expander(const TemplateData& data) : data_(data) {}

  Status Nodes(const std::vector<Node>& nodes, std::string* out) {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case Node::Kind::kText: out->append(n.text); break;
        case Node::Kind::kAction: {
          Result<Val> v = Pipe(n.pipeline);
          if (!v.ok()) return v.status();
          out->append(GoString(*v));
          break;
        }
        case Node::Kind::kIf: {
          Result<Val> v = Pipe(n.pipeline);
          if (!v.ok()) return v.status();
          Status s = Nodes(Truthy(*v) ? n.then_nodes : n.else_nodes, out);
          if (!s.ok()) return s;
          break;
        }
      }
    }
    return Status();
  }

 private:
  static bool Truthy(const Val& v) {
    switch (v.kind) {
      case Val::Kind::kString: return !v.str.empty();
      case Val::Kind::kNumber: return v.num != 0;
      case Val::Kind::kLabels: return v.labels != nullptr && !v.labels->empty();
    }
    return false;
  }

  Val Operand(const Arg& a) const {
    static const core::Labels kEmpty;
    Val v;
    switch (a.kind) {
      case Arg::Kind::kLabels:
        v.kind = Val::Kind::kLabels;
        v.labels = data_.labels != nullptr ? data_.labels : &kEmpty;
        break;
      case Arg::Kind::kLabel:
        v.str = data_.labels != nullptr ? std::string(data_.labels->Get(a.text)) : "";
        break;
      case Arg::Kind::kExternalLabels:
        v.kind = Val::Kind::kLabels;
        v.labels = data_.external_labels != nullptr ? data_.external_labels : &kEmpty;
        break;
      case Arg::Kind::kExternalLabel:
        v.str = data_.external_labels != nullptr ? std::string(data_.external_labels->Get(a.text))
                                                 : "";
        break;
      case Arg::Kind::kValue:
        v.kind = Val::Kind::kNumber;
        v.num = data_.value;
        break;
      case Arg::Kind::kExternalURL: v.str = std::string(data_.external_url); break;
      case Arg::Kind::kString: v.str = a.text; break;
      case Arg::Kind::kNumber:
        v.kind = Val::Kind::kNumber;
        v.num = a.number;
        break;
      case Arg::Kind::kFunc: break;  // handled by Call
    }
    return v;
  }

  Result<Val> Pipe(const Pipeline& pipeline) {
    std::optional<Val> piped;
    for (const Command& cmd : pipeline) {
      if (cmd[0].kind != Arg::Kind::kFunc) {
        piped = Operand(cmd[0]);
        continue;
      }
      std::vector<Val> args;
      for (size_t i = 1; i < cmd.size(); ++i) {
        if (cmd[i].kind == Arg::Kind::kFunc) {
          return Status::InvalidArgument("template: function \"" + cmd[i].text +
                                         "\" used as an argument");
        }
        args.push_back(Operand(cmd[i]));
      }
      if (piped) args.push_back(*piped);
      Result<Val> r = Call(cmd[0].text, args);
      if (!r.ok()) return r.status();
      piped = std::move(*r);
    }
    return *piped;
  }

  static Result<Val> Str(Result<std::string> s) {
    if (!s.ok()) return s.status();
    Val v;
    v.str = std::move(*s);
    return v;
  }

  Result<Val> Call(const std::string& name, const std::vector<Val>& args) {
    auto want = [&](size_t n) -> Status {
      if (args.size() != n) {
        return Status::InvalidArgument("template: wrong number of args for " + name + ": want " +
                                       std::to_string(n) + " got " + std::to_string(args.size()));
      }
      return Status();
    };
    if (name == "printf") {
      if (args.empty()) return want(1);
      std::vector<Val> rest(args.begin() + 1, args.end());
      return Str(Printf(GoString(args[0]), rest));
    }
    if (name == "reReplaceAll") {
      if (Status s = want(3); !s.ok()) return s;
      RE2 re(GoString(args[0]));
      if (!re.ok()) return Status::InvalidArgument("template: reReplaceAll: " + re.error());
      std::string text = GoString(args[2]);
      std::string repl = GoString(args[1]);
      // Go uses $1; RE2 uses \1.
      std::string re2_repl;
      for (size_t i = 0; i < repl.size(); ++i) {
        if (repl[i] == '$' && i + 1 < repl.size() && repl[i + 1] >= '0' && repl[i + 1] <= '9') {
          re2_repl.push_back('\\');
          continue;
        }
        if (repl[i] == '\\') re2_repl.push_back('\\');
        re2_repl.push_back(repl[i]);
      }
      RE2::GlobalReplace(&text, re, re2_repl);
      return Str(text);
    }
    if (name == "match") {
      if (Status s = want(2); !s.ok()) return s;
      RE2 re(GoString(args[0]));
      if (!re.ok()) return Status::InvalidArgument("template: match: " + re.error());
      Val v;
      v.kind = Val::Kind::kNumber;
      v.num = RE2::PartialMatch(GoString(args[1]), re) ? 1 : 0;
      return v;
    }
    if (Status s = want(1); !s.ok()) return s;
    const Val& a = args[0];
    if (name == "toUpper" || name == "toLower" || name == "title") {
      std::string s = GoString(a);
      if (name == "title") return Str(Title(std::move(s)));
      for (char& c : s) {
        if (name == "toUpper" && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (name == "toLower" && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      return Str(s);
    }
    Result<double> d = ToFloat(a);
    if (!d.ok()) return Status::InvalidArgument("template: " + name + ": " + d.status().message());
    if (name == "humanize") return Str(Humanize(*d));
    if (name == "humanize1024") return Str(Humanize1024(*d));
    if (name == "humanizeDuration") return Str(HumanizeDuration(*d));
    if (name == "humanizePercentage") return Str(FormatG4(*d * 100) + "%");
    if (name == "humanizeTimestamp") return Str(HumanizeTimestamp(*d));
    return Status::Internal("template: function " + name + " has no implementation");
  }

  const TemplateData& data_;
};

}  // namespace

Result<Template> Template::Compile(std::string_view text) {
  Result<std::vector<Node>> nodes = Compiler(text).Run();
  if (!nodes.ok()) return nodes.status();
  Template t;
  t.nodes_ = std::make_shared<const std::vector<Node>>(std::move(*nodes));
  return t;
}

bool Template::is_literal() const {
  for (const Node& n : *nodes_) {
    if (n.kind != Node::Kind::kText) return false;
  }
  return true;
}

Result<std::string> Template::Expand(const TemplateData& data) const {
  std::string out;
  Status s = Expander(data).Nodes(*nodes_, &out);
  if (!s.ok()) return s;
  return out;
}


}  // namespace amas::rules
