#include <catch2/catch.hpp>

#include <cmath>

#include "rules/template.h"
#include "promql/go_strconv.h"

using amas::rules::Template;
using amas::rules::TemplateData;

TEST_CASE("template: expansions Prometheus users write") {
  const auto labels = amas::core::Labels::FromPairs(
      {{"__name__", "x"}, {"service", "backend"}, {"pod", "backend-1"}});
  const auto external = amas::core::Labels::FromPairs({{"cluster", "eu-1"}});
  TemplateData data{&labels, 0.7512, &external, "http://scaler:9105"};
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"plain text", "plain text"},
      {"{{ $labels.service }} cpu", "backend cpu"},
      {"{{$labels.missing}}!", "!"},
      {"{{ $value }}", "0.7512"},
      {"{{ .Value }} {{ .Labels.pod }}", "0.7512 backend-1"},
      {"{{ $value | humanizePercentage }}", "75.12%"},
      {"{{ humanize 1234567 }}", "1.235M"},
      {"{{ humanize 0.00123 }}", "1.23m"},
      {"{{ humanize1024 1048576 }}", "1Mi"},
      {"{{ humanizeDuration 3661 }}", "1h 1m 1s"},
      {"{{ humanizeDuration 0.25 }}", "250ms"},
      {"{{ humanizeDuration 90061 }}", "1d 1h 1m 1s"},
      {"{{ printf \"%.2f\" $value }}", "0.75"},
      {"{{ printf \"%s=%d\" \"n\" 3 }}", "n=3"},
      {"{{ $labels.service | toUpper }}", "BACKEND"},
      {"{{ title \"hello world\" }}", "Hello World"},
      {"{{ $externalLabels.cluster }} {{ $externalURL }}", "eu-1 http://scaler:9105"},
      {"a {{- \" b \" -}} c", "a b c"},
      {"{{/* a comment */}}x", "x"},
      {"{{ if $labels.service }}yes{{ else }}no{{ end }}", "yes"},
      {"{{ if $labels.nope }}yes{{ else }}no{{ end }}", "no"},
      {"{{ reReplaceAll \"backend-(.*)\" \"pod $1\" $labels.pod }}", "pod 1"},
      {"{{ humanizeTimestamp 1700000000 }}", "2023-11-14 22:13:20 +0000 UTC"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto t = Template::Compile(c.text);
    REQUIRE(t.ok());
    auto out = t->Expand(data);
    REQUIRE(out.ok());
    CHECK(*out == c.want);
  }
}

TEST_CASE("template: compile errors say where; unsupported features are Unimplemented") {
  CHECK(Template::Compile("{{ nosuch }}").status().message() ==
        "template: offset 0: function \"nosuch\" not defined");
  CHECK(Template::Compile("ab {{ $value").status().message() ==
        "template: offset 3: unclosed action");
  CHECK(Template::Compile("{{ if $value }}x").status().message() ==
        "template: offset 0: unclosed {{if}}: missing {{end}}");
  CHECK(Template::Compile("{{ $bogus }}").status().IsInvalidArgument());
  CHECK(Template::Compile("{{ range $labels }}{{ end }}").status().IsUnimplemented());
  CHECK(Template::Compile("{{ query \"up\" }}").status().IsUnimplemented());
  CHECK(Template::Compile("{{ end }}").status().message() == "template: offset 0: unexpected {{end}}");
  CHECK(Template::Compile("{{ $value $value }}").status().message() ==
        "template: offset 0: can't give argument to non-function");
}

TEST_CASE("template: a function given a non-number fails at expansion") {
  auto t = Template::Compile("{{ humanize \"abc\" }}");
  REQUIRE(t.ok());
  TemplateData data;
  CHECK_FALSE(t->Expand(data).ok());
}

TEST_CASE("$value prints like Go's %v (promql::FormatFloatG)") {
  CHECK(amas::promql::FormatFloatG(0.75) == "0.75");
  CHECK(amas::promql::FormatFloatG(100000) == "100000");
  CHECK(amas::promql::FormatFloatG(1e6) == "1e+06");
  CHECK(amas::promql::FormatFloatG(123456789) == "1.23456789e+08");
  CHECK(amas::promql::FormatFloatG(0.0001) == "0.0001");
  CHECK(amas::promql::FormatFloatG(0.00001) == "1e-05");
  CHECK(amas::promql::FormatFloatG(-2.5) == "-2.5");
  CHECK(amas::promql::FormatFloatG(0) == "0");
  CHECK(amas::promql::FormatFloatG(NAN) == "NaN");
  CHECK(amas::promql::FormatFloatG(INFINITY) == "+Inf");
  CHECK(amas::promql::FormatFloatG(-INFINITY) == "-Inf");
}
