#include "core/status.h"

namespace amas::core {

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg;
  msg.reserve(context.size() + 2 + message_.size());
  msg.append(context).append(": ").append(message_);
  return Status(code_, std::move(msg));
}

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Code::kUnavailable: return "Unavailable";
    case Code::kUnimplemented: return "Unimplemented";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kAborted: return "Aborted";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out.append(": ").append(message_);
  return out;
}

}  // namespace amas::core
