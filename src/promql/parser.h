// parser.h: PromQL text to an AST (ast.h), following Prometheus's grammar
// (parser/generated_parser.y) with a precedence-climbing parser.
// Errors read and sit where Prometheus puts them:
//   InvalidArgument("1:15: parse error: unexpected <op:*>")
// Syntax that Prometheus accepts but amas-scaler does not evaluate (duration
// arithmetic, anchored/smoothed, fill(), native-histogram functions, ...)
// fails with Unimplemented("1:7: not supported: ...") instead.
// Never crashes on any input; recursion depth is bounded.
#ifndef AMAS_PROMQL_PARSER_H_
#define AMAS_PROMQL_PARSER_H_

#include <string_view>

#include "core/core.h"
#include "promql/ast.h"

namespace amas::promql {

// Same as Parse() in promql.h; declared here for the parser's own tests.
core::Result<ExprPtr> ParseExpr(std::string_view input);

}  // namespace amas::promql

#endif  // AMAS_PROMQL_PARSER_H_
