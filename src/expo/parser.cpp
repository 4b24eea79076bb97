// The pull parser. Next() is the scraper's hot path: for a text line it finds
// the name, the end of the label block and the value, and leaves the label
// block's contents to Labels(). Rules spanning lines live in families.cpp.
#include <cstring>
#include <string>
#include <unordered_set>

#include "core/value.h"
#include "expo/expo.h"
#include "expo/families.h"
#include "expo/label_block.h"
#include "expo/lex.h"
#include "expo/number.h"

namespace amas::expo {

using internal::Dialect;
using internal::Is;
using internal::Quote;
using internal::SyntaxError;

struct Parser::Impl {
  Impl(std::string_view body, Format f, ParseOptions o)
      : begin(body.data()),
        end(body.data() + body.size()),
        p(body.data()),
        options(o),
        dialect(f == Format::kOpenMetrics ? Dialect::kOpenMetrics : Dialect::kText),
        om_families(o.openmetrics_spec) {}

  Entry Next();
  core::Status Labels(core::LabelsBuilder* out);
  core::Status LabelViews(std::vector<core::Label>* out);

  Entry NextText();
  Entry TextComment(const char* hash);
  Entry TextSample(const char* q);
  Entry NextOpenMetrics();
  Entry OpenMetricsMetadata(Entry kind, const char* q);
  Entry OpenMetricsSample(const char* q);
  bool ParseMetadataName(const char* q, const char* eol, const char** after, SyntaxError* err);
  bool DecodeBlock();

  Entry Fail(const char* pos, std::string message);
  Entry Fail(const SyntaxError& err) { return Fail(err.pos, err.message); }
  Entry FailAtEnd(const char* pos);

  const char* const begin;
  const char* const end;
  const char* p;  // start of the next line
  const ParseOptions options;
  const Dialect dialect;

  int line_no = 0;
  const char* line_begin = nullptr;
  Entry entry = Entry::kComment;
  bool done = false;
  core::Status error;

  // kSeries
  const char* series_begin = nullptr;
  const char* series_end = nullptr;
  std::string_view name;
  bool name_in_block = false;
  const char* block_open = nullptr;  // '{', or nullptr without a label block
  const char* block_close = nullptr;
  bool block_decoded = false;
  double value = 0;
  bool has_timestamp = false;
  int64_t timestamp = 0;
  std::string_view canonical_label;             // "le" or "quantile" of a histogram/summary
  char canonical_buf[internal::kCanonicalMax];  // its value, rendered for LabelViews()
  std::vector<core::Label> views;               // Labels()'s scratch
  std::string_view family;                      // for Check()
  internal::LabelBlock block;
  internal::LabelBlock exemplar;

  // kHelp / kType / kUnit
  std::string_view meta_name;
  std::string meta_name_buf;
  std::string_view help;
  std::string help_buf;
  MetricType type = MetricType::kUnknown;
  std::string_view unit;

  internal::TextFamilies text_families;
  internal::OpenMetricsFamilies om_families;
  // The family of the previous text sample, by its name's bytes: families
  // come in runs of lines, so most lines skip the lookup.
  std::string_view last_name;
  internal::TextFamilies::Resolved last_resolved{nullptr, internal::SampleRole::kPlain};
};

namespace {

std::string_view View(const char* b, const char* e) {
  return std::string_view(b, static_cast<size_t>(e - b));
}

const char* FindNewline(const char* p, const char* end) {
  return static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
}

struct TypeWord {
  std::string_view word;
  MetricType type;
};
constexpr TypeWord kTextTypes[] = {
    {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
    {"histogram", MetricType::kHistogram}, {"summary", MetricType::kSummary},
    {"untyped", MetricType::kUnknown},
};
constexpr TypeWord kOpenMetricsTypes[] = {
    {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
    {"histogram", MetricType::kHistogram}, {"gaugehistogram", MetricType::kGaugeHistogram},
    {"summary", MetricType::kSummary},     {"info", MetricType::kInfo},
    {"stateset", MetricType::kStateset},   {"unknown", MetricType::kUnknown},
};

// Exact, lower case: both formats' parsers in Prometheus compare bytes.
template <size_t N>
bool ParseType(const TypeWord (&words)[N], std::string_view s, MetricType* t) {
  for (const TypeWord& w : words) {
    if (w.word == s) {
      *t = w.type;
      return true;
    }
  }
  return false;
}

std::string_view CanonicalLabel(MetricType t) {
  // As Prometheus: classic histograms and summaries only.
  if (t == MetricType::kHistogram) return "le";
  if (t == MetricType::kSummary) return "quantile";
  return {};
}

}  // namespace

Entry Parser::Impl::Fail(const char* pos, std::string message) {
  // Count lines from the current line when we can, else from the top.
  const char* from = begin;
  int line = 1;
  if (line_begin != nullptr && pos >= line_begin) {
    from = line_begin;
    line = line_no;
  }
  const char* line_start = from;
  for (const char* q = from; q < pos;) {
    const char* nl = FindNewline(q, pos);
    if (nl == nullptr) break;
    ++line;
    line_start = q = nl + 1;
  }
  const long col = pos - line_start + 1;
  error = core::Status::InvalidArgument(std::to_string(line) + ":" + std::to_string(col) + ": " +
                                        message);
  entry = Entry::kError;
  return entry;
}

Entry Parser::Impl::FailAtEnd(const char* pos) {
  if (dialect == Dialect::kOpenMetrics) {
    return Fail(pos, "unexpected end of input: an OpenMetrics body must end with \"# EOF\"");
  }
  return Fail(pos, "unexpected end of input: the last line has no newline");
}

Entry Parser::Impl::Next() {
  if (entry == Entry::kError) return entry;
  if (done) return entry = Entry::kEof;
  entry = dialect == Dialect::kText ? NextText() : NextOpenMetrics();
  return entry;
}

// ---------------------------------------------------------------- text 0.0.4

Entry Parser::Impl::NextText() {
  while (true) {
    if (p >= end) {
      done = true;
      return Entry::kEof;
    }
    line_begin = p;
    ++line_no;
    const char* q = internal::SkipBlanks(p, end);
    if (q == end) {  // blanks after the last newline
      p = end;
      done = true;
      return Entry::kEof;
    }
    if (*q == '\n') {
      p = q + 1;
      continue;
    }
    if (*q == '#') return TextComment(q);
    return TextSample(q);
  }
}

Entry Parser::Impl::TextComment(const char* hash) {
  // expfmt reads "#", blanks, a keyword; HELP and TYPE need a blank after it.
  const char* kw = internal::SkipBlanks(hash + 1, end);
  const char* kw_end = kw;
  while (kw_end < end && !Is(*kw_end, internal::kValueEnd)) ++kw_end;
  const std::string_view keyword = View(kw, kw_end);
  const bool is_help = keyword == "HELP";
  const bool is_type = keyword == "TYPE";
  if (!(is_help || is_type) || kw_end == end || !Is(*kw_end, internal::kBlank)) {
    const char* eol = FindNewline(hash, end);
    if (eol == nullptr) return FailAtEnd(end);
    p = eol + 1;
    return Entry::kComment;
  }
  const char* n = internal::SkipBlanks(kw_end, end);
  const char* eol = FindNewline(n, end);
  if (eol == nullptr) return FailAtEnd(end);
  if (n == eol) {  // "# HELP " without a name: a plain comment, as in expfmt
    p = eol + 1;
    return Entry::kComment;
  }
  const char* after = nullptr;
  SyntaxError err;
  if (!ParseMetadataName(n, eol, &after, &err)) return Fail(err);
  if (after < eol && !Is(*after, internal::kBlank)) {
    return Fail(after, "invalid metric name in " + std::string(keyword) + " line");
  }
  const char* text = internal::SkipBlanks(after, eol);
  p = eol + 1;
  if (is_type) {
    if (text == eol) return Fail(text, "expected a metric type after the name in TYPE line");
    const std::string_view word = View(text, eol);
    if (!ParseType(kTextTypes, word, &type))
      return Fail(text, "unknown metric type " + Quote(word));
    internal::TextFamilies::Family* f = text_families.Resolve(meta_name).family;
    if (f->type_set) {
      return Fail(hash, "second TYPE line for metric name " + Quote(meta_name) +
                            ", or TYPE reported after samples");
    }
    f->type = type;
    f->type_set = true;
    return Entry::kType;
  }
  if (text == eol) {  // empty HELP: reported, but (as in expfmt) it sets nothing
    help = {};
    return Entry::kHelp;
  }
  if (!internal::UnescapeHelp(text, eol, Dialect::kText, &help_buf, &help, &err)) {
    return Fail(err);
  }
  internal::TextFamilies::Family* f = text_families.Resolve(meta_name).family;
  if (f->help_set) return Fail(hash, "second HELP line for metric name " + Quote(meta_name));
  f->help_set = true;
  return Entry::kHelp;
}

bool Parser::Impl::ParseMetadataName(const char* q, const char* eol, const char** after,
                                     SyntaxError* err) {
  if (q < eol && *q == '"') {
    meta_name_buf.clear();
    meta_name_buf.reserve(static_cast<size_t>(eol - q));
    if (!internal::DecodeQuotedString(q, eol, dialect, "metric name", &meta_name_buf, &meta_name,
                                      after, err)) {
      return false;
    }
    const bool ok = options.names == NameValidation::kLegacy
                        ? internal::IsLegacyMetricName(meta_name)
                        : !meta_name.empty();
    if (!ok) {
      err->pos = q;
      err->message = "invalid metric name " + Quote(meta_name);
      return false;
    }
    return true;
  }
  if (q < eol && Is(*q, internal::kMetricStart)) {
    *after = internal::ScanWhile(q + 1, eol, internal::kMetricChar);
    meta_name = View(q, *after);
    return true;
  }
  err->pos = q;
  err->message = "expected a metric name, got " + Quote(View(q, q < eol ? q + 1 : q));
  return false;
}

bool Parser::Impl::DecodeBlock() {
  SyntaxError err;
  if (!block.Decode(block_open, block_close, dialect, options.names, &err)) {
    Fail(err);
    return false;
  }
  block_decoded = true;
  return true;
}

Entry Parser::Impl::TextSample(const char* q) {
  series_begin = q;
  block_open = block_close = nullptr;
  block_decoded = false;
  name_in_block = false;
  SyntaxError err;
  const char* r;
  if (*q == '{') {
    block_open = q;
    block_close = internal::FindBlockEnd(q, end, &err);
    if (block_close == nullptr) return Fail(err);
    if (!DecodeBlock()) return entry;
    if (!block.has_metric_name()) {
      return Fail(q, "metric name not set: no name before '{' and no quoted name inside");
    }
    name = block.metric_name();
    name_in_block = true;
    series_end = block_close + 1;
    r = internal::SkipBlanks(series_end, end);
  } else if (Is(*q, internal::kMetricStart)) {
    const char* name_end = internal::ScanMetricChars(q + 1, end);
    name = View(q, name_end);
    r = internal::SkipBlanks(name_end, end);
    if (r < end && *r == '{') {
      block_open = r;
      block_close = internal::FindBlockEnd(r, end, &err);
      if (block_close == nullptr) return Fail(err);
      series_end = block_close + 1;
      r = internal::SkipBlanks(series_end, end);
    } else {
      series_end = name_end;
      if (r == name_end) {
        if (r == end) return FailAtEnd(r);
        return Fail(r, *r == '\n'
                           ? std::string("expected value after metric name")
                           : "invalid character " + Quote(View(r, r + 1)) + " after metric name");
      }
    }
  } else {
    return Fail(q, "invalid metric name: expected [a-zA-Z_:] or '{', got " + Quote(View(q, q + 1)));
  }

  const char* vb = r;
  while (r < end && !Is(*r, internal::kValueEnd)) ++r;
  if (r == vb) {
    if (r == end) return FailAtEnd(r);
    return Fail(r, "expected value after metric");
  }
  if (!internal::ParseFloat(View(vb, r), &value)) {
    return Fail(vb, "expected float as value, got " + Quote(View(vb, r)));
  }
  has_timestamp = false;
  if (r == end) return FailAtEnd(r);
  if (*r != '\n') {
    const char* tb = internal::SkipBlanks(r, end);
    if (tb == end) return FailAtEnd(tb);
    if (*tb == '\n') return Fail(r, "trailing whitespace after the value");
    const char* te = tb;
    while (te < end && !Is(*te, internal::kValueEnd)) ++te;
    if (!internal::ParseTextTimestamp(View(tb, te), &timestamp)) {
      return Fail(tb, "expected integer as timestamp (ms), got " + Quote(View(tb, te)));
    }
    has_timestamp = true;
    if (te == end) return FailAtEnd(te);
    if (*te != '\n') return Fail(te, "unexpected text after the timestamp");
    r = te;
  }
  p = r + 1;

  internal::TextFamilies::Resolved resolved;
  if (!name_in_block && name == last_name) {
    resolved = last_resolved;
  } else {
    resolved = text_families.Resolve(name);
    last_name = name_in_block ? std::string_view() : name;
    last_resolved = resolved;
  }
  internal::TextFamilies::Family* f = resolved.family;
  if (!f->type_set) f->type_set = true;  // untyped from now on, as in expfmt
  f->has_samples = true;
  family = f->name;
  if (value < 0) {
    if (f->type == MetricType::kHistogram && resolved.role == internal::SampleRole::kCount) {
      return Fail(vb, "negative count for histogram " + Quote(f->name));
    }
    if (f->type == MetricType::kHistogram && resolved.role == internal::SampleRole::kBucket) {
      return Fail(vb, "negative bucket population for histogram " + Quote(f->name));
    }
    if (f->type == MetricType::kSummary && resolved.role == internal::SampleRole::kCount) {
      return Fail(vb, "negative count for summary " + Quote(f->name));
    }
  }
  canonical_label = CanonicalLabel(f->type);
  return Entry::kSeries;
}

// ---------------------------------------------------------------- OpenMetrics

Entry Parser::Impl::NextOpenMetrics() {
  if (p >= end) return FailAtEnd(p);
  line_begin = p;
  ++line_no;
  const std::string_view rest = View(p, end);
  if (*p == '#') {
    if (rest.starts_with("# EOF")) {
      const char* r = p + 5;
      if (r == end || (*r == '\n' && r + 1 == end)) {
        SyntaxError err;
        if (!om_families.Finish(p, &err)) return Fail(err);
        p = end;
        done = true;
        return Entry::kEof;
      }
      return Fail(*r == '\n' ? r + 1 : r, "unexpected data after # EOF");
    }
    if (rest.starts_with("# HELP ")) return OpenMetricsMetadata(Entry::kHelp, p + 7);
    if (rest.starts_with("# TYPE ")) return OpenMetricsMetadata(Entry::kType, p + 7);
    if (rest.starts_with("# UNIT ")) return OpenMetricsMetadata(Entry::kUnit, p + 7);
    return Fail(p,
                "only \"# HELP \", \"# TYPE \", \"# UNIT \" and \"# EOF\" lines may start "
                "with '#'");
  }
  if (*p == '\n') return Fail(p, "empty line");
  return OpenMetricsSample(p);
}

Entry Parser::Impl::OpenMetricsMetadata(Entry kind, const char* q) {
  const char* eol = FindNewline(q, end);
  if (eol == nullptr) return FailAtEnd(end);
  const char* what = kind == Entry::kHelp ? "HELP" : kind == Entry::kType ? "TYPE" : "UNIT";
  const char* after = nullptr;
  SyntaxError err;
  if (q == eol) return Fail(q, std::string("expected metric name after ") + what);
  if (!ParseMetadataName(q, eol, &after, &err)) return Fail(err);
  if (after == eol) return Fail(after, std::string("expected text in ") + what);
  if (*after != ' ') {
    return Fail(after,
                "expected one space after the metric name, got " + Quote(View(after, after + 1)));
  }
  const char* text = after + 1;
  const std::string_view word = View(text, eol);
  help = {};
  unit = {};
  switch (kind) {
    case Entry::kType:
      if (!ParseType(kOpenMetricsTypes, word, &type)) {
        return Fail(text, "invalid metric type " + Quote(word));
      }
      break;
    case Entry::kHelp:
      if (!internal::UnescapeHelp(text, eol, Dialect::kOpenMetrics, &help_buf, &help, &err)) {
        return Fail(err);
      }
      break;
    default:
      for (const char* c = text; c < eol; ++c) {
        if (!Is(*c, internal::kMetricChar)) {
          return Fail(c, "invalid character " + Quote(View(c, c + 1)) + " in unit");
        }
      }
      unit = word;
      if (!unit.empty() && !(meta_name.size() > unit.size() && meta_name.ends_with(unit) &&
                             meta_name[meta_name.size() - unit.size() - 1] == '_')) {
        return Fail(text, "unit " + Quote(unit) + " is not a suffix of metric " + Quote(meta_name));
      }
  }
  if (!om_families.OnMetadata(kind, meta_name, type, unit, line_begin, &err)) return Fail(err);
  p = eol + 1;
  return kind;
}

Entry Parser::Impl::OpenMetricsSample(const char* q) {
  series_begin = q;
  block_open = block_close = nullptr;
  block_decoded = false;
  name_in_block = false;
  SyntaxError err;
  const char* r;
  if (*q == '{') {
    block_open = q;
    block_close = internal::FindBlockEnd(q, end, &err);
    if (block_close == nullptr) return Fail(err);
    if (!DecodeBlock()) return entry;
    if (!block.has_metric_name()) {
      return Fail(q, "metric name not set: no name before '{' and no quoted name inside");
    }
    name = block.metric_name();
    name_in_block = true;
    r = block_close + 1;
  } else if (Is(*q, internal::kMetricStart)) {
    r = internal::ScanMetricChars(q + 1, end);
    name = View(q, r);
    if (r < end && *r == '{') {
      block_open = r;
      block_close = internal::FindBlockEnd(r, end, &err);
      if (block_close == nullptr) return Fail(err);
      r = block_close + 1;
    }
  } else {
    return Fail(q, "expected a metric name or '{', got " + Quote(View(q, q + 1)));
  }
  series_end = r;
  if (r == end) return FailAtEnd(r);
  if (*r != ' ') {
    return Fail(r, *r == '\n'
                       ? std::string("expected value after metric")
                       : "expected one space before the value, got " + Quote(View(r, r + 1)));
  }
  auto token_end = [&](const char* t) {
    while (t < end && *t != ' ' && *t != '\n') ++t;
    return t;
  };
  const char* vb = r + 1;
  r = token_end(vb);
  if (r == vb) return Fail(vb, "expected value after metric");
  if (!internal::ParseFloat(View(vb, r), &value)) {
    return Fail(vb, "invalid value " + Quote(View(vb, r)));
  }
  has_timestamp = false;
  double ts_seconds = 0;
  const char* hash = nullptr;
  if (r < end && *r == ' ') {
    ++r;
    if (r < end && *r == '#') {
      hash = r;
    } else {
      const char* tb = r;
      r = token_end(tb);
      if (r == tb) return Fail(tb, "expected timestamp or exemplar after the value");
      if (!internal::ParseOpenMetricsTimestamp(View(tb, r), &timestamp, &ts_seconds)) {
        return Fail(tb, "invalid timestamp " + Quote(View(tb, r)));
      }
      has_timestamp = true;
      if (r < end && *r == ' ') {
        ++r;
        if (r == end || *r != '#')
          return Fail(r, "expected an exemplar (\"# {\") after the timestamp");
        hash = r;
      }
    }
  }
  size_t exemplar_code_points = 0;
  if (hash != nullptr) {
    if (end - hash < 3 || hash[1] != ' ' || hash[2] != '{') {
      return Fail(hash, "expected \"# {\" to start an exemplar");
    }
    const char* open = hash + 2;
    const char* close = internal::FindBlockEnd(open, end, &err);
    if (close == nullptr) return Fail(err);
    if (!exemplar.Decode(open, close, Dialect::kOpenMetrics, options.names, &err)) {
      return Fail(err);
    }
    if (exemplar.has_metric_name()) {
      return Fail(exemplar.metric_name_pos(), "an exemplar's labels cannot name a metric");
    }
    for (const internal::DecodedLabel& l : exemplar.labels()) {
      exemplar_code_points +=
          internal::CountCodePoints(l.name) + internal::CountCodePoints(l.value);
    }
    r = close + 1;
    if (r == end || *r != ' ') return Fail(r, "expected a value after the exemplar's labels");
    const char* eb = r + 1;
    r = token_end(eb);
    double exemplar_value;
    if (!internal::ParseFloat(View(eb, r), &exemplar_value)) {
      return Fail(eb, "invalid exemplar value " + Quote(View(eb, r)));
    }
    if (r < end && *r == ' ') {
      const char* tb = r + 1;
      r = token_end(tb);
      int64_t ms;
      double seconds;
      if (!internal::ParseOpenMetricsTimestamp(View(tb, r), &ms, &seconds)) {
        return Fail(tb, "invalid exemplar timestamp " + Quote(View(tb, r)));
      }
    }
  }
  if (r == end) return FailAtEnd(r);
  if (*r != '\n') return Fail(r, "unexpected " + Quote(View(r, r + 1)) + " at end of sample");
  p = r + 1;

  static const std::vector<internal::DecodedLabel> kNoLabels;
  const bool spec = options.openmetrics_spec;
  if (spec && block_open != nullptr && !block_decoded && !DecodeBlock()) return entry;
  const internal::OmSample sample{
      name,
      spec && block_open != nullptr ? &block.labels() : &kNoLabels,
      value,
      has_timestamp,
      ts_seconds,
      hash != nullptr,
      exemplar_code_points,
      line_begin,
  };
  if (!om_families.OnSample(sample, &err)) return Fail(err);
  family = om_families.name();
  canonical_label = CanonicalLabel(om_families.type());
  return Entry::kSeries;
}

// ---------------------------------------------------------------- labels

namespace {
const std::vector<internal::DecodedLabel> kNoDecodedLabels;
}  // namespace

core::Status Parser::Impl::LabelViews(std::vector<core::Label>* out) {
  if (entry == Entry::kError) return error;
  if (entry != Entry::kSeries) {
    return core::Status::FailedPrecondition("Labels() needs the parser to be on a series");
  }
  if (block_open != nullptr && !block_decoded && !DecodeBlock()) return error;
  if (block_open != nullptr && !name_in_block && block.has_metric_name()) {
    Fail(block.metric_name_pos(), "metric name given twice (before '{' and inside it)");
    return error;
  }
  const std::vector<internal::DecodedLabel>& decoded =
      block_open == nullptr ? kNoDecodedLabels : block.labels();
  // Sized once and filled by index: a push_back per label is a call here.
  const size_t base = out->size();
  out->resize(base + 1 + decoded.size());
  core::Label* views = out->data() + base;
  views[0] = {core::kMetricName, name};
  for (size_t i = 0; i < decoded.size(); ++i) {
    const internal::DecodedLabel& l = decoded[i];
    views[i + 1] = {l.name, l.value};
    if (canonical_label.empty() || l.name != canonical_label) continue;
    double v;
    if (!internal::ParseFloat(l.value, &v)) {
      out->resize(base);
      Fail(l.value_pos, "expected float as value for '" + std::string(l.name) + "' label, got " +
                            Quote(l.value));
      return error;
    }
    // One le/quantile per line at most (duplicates are rejected), so one buffer.
    if (options.normalize_bucket_labels)
      views[i + 1].value = internal::FormatCanonical(v, canonical_buf);
  }
  return core::Status::Ok();
}

core::Status Parser::Impl::Labels(core::LabelsBuilder* out) {
  out->Reset();
  views.clear();
  core::Status st = LabelViews(&views);
  if (!st.ok()) return st;
  for (const core::Label& l : views) out->Set(l.name, l.value);
  return core::Status::Ok();
}

// ---------------------------------------------------------------- Parser

Parser::Parser(std::string_view body, Format format, ParseOptions options)
    : impl_(std::make_unique<Impl>(body, format, options)) {}

Parser::~Parser() = default;

Entry Parser::Next() { return impl_->Next(); }
const core::Status& Parser::error() const { return impl_->error; }
std::string_view Parser::series() const {
  if (impl_->entry != Entry::kSeries) return {};
  return View(impl_->series_begin, impl_->series_end);
}
core::Status Parser::Labels(core::LabelsBuilder* out) { return impl_->Labels(out); }
core::Status Parser::LabelViews(std::vector<core::Label>* out) { return impl_->LabelViews(out); }
// ParseFloat already yields the canonical NaN; this keeps the promise explicit.
double Parser::value() const { return core::CanonicalizeNaN(impl_->value); }
std::optional<int64_t> Parser::timestamp_ms() const {
  if (!impl_->has_timestamp) return std::nullopt;
  return impl_->timestamp;
}
std::string_view Parser::metric_name() const { return impl_->meta_name; }
std::string_view Parser::help() const { return impl_->help; }
MetricType Parser::type() const { return impl_->type; }
std::string_view Parser::unit() const { return impl_->unit; }
int Parser::line() const { return impl_->line_no; }

// ---------------------------------------------------------------- Check

core::Result<CheckResult> Check(std::string_view body, Format format, ParseOptions options) {
  Parser parser(body, format, options);
  core::LabelsBuilder labels;
  CheckResult result;
  std::unordered_set<std::string> families;
  std::string last_family;
  bool has_last = false;
  while (true) {
    const Entry e = parser.Next();
    if (e == Entry::kEof) break;
    if (e == Entry::kError) return parser.error();
    if (e != Entry::kSeries) continue;
    if (core::Status st = parser.Labels(&labels); !st.ok()) return st;
    ++result.series;
    const std::string_view family = parser.impl_->family;
    if (!has_last || family != last_family) {
      last_family.assign(family);
      has_last = true;
      families.insert(last_family);
    }
  }
  result.families = families.size();
  return result;
}

}  // namespace amas::expo
