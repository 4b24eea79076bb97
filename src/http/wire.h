// wire.h: the bytes of an HTTP/1.1 response, internal to the server. Pure:
// the date comes in as text. The whole response is one buffer so that it
// leaves in one write (one segment, one wake-up of the client).
#ifndef AMAS_HTTP_WIRE_H_
#define AMAS_HTTP_WIRE_H_

#include <ctime>
#include <string>
#include <string_view>

#include "http/http.h"

namespace amas::http {

// "OK", "Not Found", ...; "Unknown" for a code without a phrase here.
std::string_view ReasonPhrase(int status);
// "Tue, 15 Nov 1994 08:12:31 GMT" (RFC 9110 IMF-fixdate).
std::string HttpDate(std::time_t t);
// Status line, Date, Content-Type, Content-Length, the extra headers,
// Connection, a blank line and (unless head_only, the answer to HEAD) the body.
std::string SerializeResponse(const Response& response, bool head_only, bool keep_alive,
                              std::string_view date);

}  // namespace amas::http

#endif  // AMAS_HTTP_WIRE_H_
