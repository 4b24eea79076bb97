// commands.h: the subcommands that do not serve, as promtool words them.
// Each reads its inputs, writes a report to out and errors to err, and
// returns the exit code: 0 fine, 1 the input is bad, 2 cannot run (e.g. a
// command that is not implemented yet). Nothing here starts a thread.
#ifndef AMAS_APP_COMMANDS_H_
#define AMAS_APP_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace amas::app {

// "Checking FILE\n  SUCCESS: ..." or "  FAILED: file:line:col: ...".
int CheckConfig(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// path "" or "-" reads in. format "", "text" or "openmetrics"; "" sniffs:
// a body whose last line is "# EOF" is OpenMetrics. Prints the family and
// series counts, or "line:col: message" and exits 1.
int CheckMetrics(const std::string& path, std::string_view format, std::istream& in,
                 std::ostream& out, std::ostream& err);

// Runs promqltest scripts (*.test): prints failing cases and the counts;
// exit 1 when any case fails.
int TestPromql(const std::vector<std::string>& files, std::ostream& out);

// Loads rule files like `promtool check rules`: the rule count, or the
// file:line:col of the first error.
int CheckRules(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// Runs rule unit tests (docs/rules.md): exit 1 when a check fails.
int TestRules(const std::vector<std::string>& files, std::ostream& out);

// Evaluates expr at time (RFC 3339 or Unix seconds; "" = now) over one
// scrape of a URL or the samples of an exposition file (source), or over no
// data when source is "".
int Eval(const std::string& expr, const std::string& source, const std::string& time,
         std::ostream& out, std::ostream& err);

}  // namespace amas::app

#endif  // AMAS_APP_COMMANDS_H_
