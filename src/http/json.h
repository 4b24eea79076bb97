// json.h: Prometheus HTTP API envelopes and number formats, on rapidjson.
// Success bodies read {"status":"success","data":...}; errors read
// {"status":"error","errorType":"bad_data","error":"..."} with the status code
// Prometheus uses for that errorType. Floats print as Prometheus prints them
// (shortest round-trip, no exponent, "+Inf"/"-Inf"/"NaN", inside strings);
// timestamps as seconds with up to three decimals (1435781451.781).
#ifndef AMAS_HTTP_JSON_H_
#define AMAS_HTTP_JSON_H_

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/core.h"
#include "http/http.h"

namespace amas::http {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

enum class ApiErrorType { kBadData, kExecution, kInternal, kUnavailable, kTimeout, kNotFound };

// Writes data with the writer positioned at the "data" value.
Response ApiSuccess(const std::function<void(JsonWriter&)>& write_data);
Response ApiError(ApiErrorType type, std::string_view message);
// Maps a Status kind onto the errorType Prometheus would use.
Response ApiError(const core::Status& status);

std::string FormatFloat(double v);
std::string FormatTimestamp(int64_t t_ms);
// A JSON number as Go's encoding/json writes a float64: 0, 0.012, 1e-7, 1e+21.
void WriteNumber(JsonWriter& w, double v);

void WriteString(JsonWriter& w, std::string_view s);
void WriteLabels(JsonWriter& w, const core::Labels& labels);  // {"name":"value",...}
void WritePoint(JsonWriter& w, int64_t t_ms, double value);   // [1435781451.781,"1"]

}  // namespace amas::http

#endif  // AMAS_HTTP_JSON_H_
