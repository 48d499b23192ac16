// Fuzzes the recorder's parser of sealtrace-a11y-helper lines
// (capture/hidden/a11y_protocol.h): a hostile or broken helper must only ever
// produce a clear refusal, and what is accepted follows the grammar.
#include <cstdint>
#include <string>

#include "capture/hidden/a11y_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sealtrace::hidden::HelperMessage m;
  if (sealtrace::hidden::ParseHelperLine(in, &m).ok()) {
    if (in.size() > sealtrace::hidden::kMaxLine) __builtin_trap();
    if (m.type != sealtrace::hidden::HelperMessage::kHello &&
        (m.role.empty() || m.role.size() > 48 || sealtrace::hidden::SanitizeRole(m.role) != m.role))
      __builtin_trap();
    if (m.type == sealtrace::hidden::HelperMessage::kAnswer && m.id == 0) __builtin_trap();
  }
  std::string role = sealtrace::hidden::SanitizeRole(in);
  if (role.size() > 48 || role.empty()) __builtin_trap();
  return 0;
}
