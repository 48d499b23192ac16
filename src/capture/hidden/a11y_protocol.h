// The line protocol between the recorder and sealtrace-a11y-helper.
//
// The helper is a separate process so that GLib, D-Bus and libatspi never
// load into the recorder. It talks over its stdin/stdout, one message per
// line, ASCII, fields separated by one space, at most kMaxLine bytes:
//
//   recorder -> helper
//     q <id> <pid>                 what is focused now in the application of
//                                  process <pid> (0: any)? <id> > 0, increasing
//   helper -> recorder
//     hello <version> <enabled>    once at start; version 1; enabled 1 when
//                                  the session's accessibility is on
//     a <id> <pid> <hidden> <role> the answer to query <id>
//     f <pid> <hidden> <role>      the focus moved (unsolicited)
//     e <reason>                   a diagnostic (no content), e.g. "no-bus"
//
// <hidden> is 0 or 1 (1: a password field or password-like role); <role> is
// the role name with spaces as '-' ([a-z0-9-], at most 48 bytes; "none" when
// the application is not on the accessibility bus, "unknown" when it is but
// its focused element is not known). No names, text or values cross this
// line: only roles and states.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sealtrace::hidden {

inline constexpr size_t kMaxLine = 256;
inline constexpr int kProtocolVersion = 1;

struct HelperMessage {
  enum Type { kHello, kAnswer, kFocus, kError } type = kError;
  int version = 0;
  bool enabled = false;
  uint64_t id = 0;
  uint32_t pid = 0;
  bool hidden = false;
  std::string role;  // or the reason for kError
};

// Parses one line (without its '\n'). InvalidArgument for anything that does
// not follow the grammar above exactly; *out is then unspecified.
absl::Status ParseHelperLine(std::string_view line, HelperMessage* out);

// A role name as it goes on the line: lower case, [a-z0-9-], spaces and
// other bytes as '-', at most 48 bytes, "unknown" if empty.
std::string SanitizeRole(std::string_view role);

}  // namespace sealtrace::hidden
