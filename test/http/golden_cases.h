// golden_cases.h: reads the request/response cases of test/http/testdata
// (format at the top of each data file): a request line, optional
// "header: K: V", "body: ..." or "body-bytes: N" lines, the expected
// "STATUS [content type]" and the expected body up to a blank line
// ("<empty>" for none; text/plain bodies end with a newline).
#ifndef AMAS_TEST_HTTP_GOLDEN_CASES_H_
#define AMAS_TEST_HTTP_GOLDEN_CASES_H_

#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace amas::http::testing {

struct Case {
  int line = 0;
  std::string method;
  std::string target;  // path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int status = 0;
  std::string content_type;
  std::string want;
};

inline std::vector<Case> ReadCases(const std::string& path) {
  std::ifstream in(path);
  std::vector<Case> cases;
  Case current;
  int state = 0;  // 0: request, 1: headers / body / status, 2: expected body
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (state == 0) {
      if (line.empty() || line[0] == '#') continue;
      current = Case();
      current.line = n;
      const size_t sp = line.find(' ');
      current.method = line.substr(0, sp);
      current.target = line.substr(sp + 1);
      state = 1;
    } else if (state == 1) {
      if (line.starts_with("header: ")) {
        const size_t colon = line.find(": ", 8);
        current.headers.emplace_back(line.substr(8, colon - 8), line.substr(colon + 2));
        continue;
      }
      if (line.starts_with("body: ")) {
        current.body = line.substr(6);
        continue;
      }
      if (line.starts_with("body-bytes: ")) {  // a body of N 'x'
        current.body.assign(std::stoul(line.substr(12)), 'x');
        continue;
      }
      const size_t sp = line.find(' ');
      current.status = std::stoi(line.substr(0, sp));
      current.content_type = sp == std::string::npos ? "" : line.substr(sp + 1);
      state = 2;
    } else {
      if (line.empty()) {
        cases.push_back(current);
        state = 0;
        continue;
      }
      current.want += (current.want.empty() ? "" : "\n") + line;
    }
  }
  if (state == 2) cases.push_back(current);
  for (Case& c : cases) {
    if (c.want == "<empty>") {
      c.want.clear();
    } else if (c.content_type.starts_with("text/plain")) {
      c.want += "\n";
    }
  }
  return cases;
}

}  // namespace amas::http::testing

#endif  // AMAS_TEST_HTTP_GOLDEN_CASES_H_
