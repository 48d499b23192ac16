// The dashboard's web assets, embedded at build time from src/dashboard/assets/
// (embed.cmake generates the definitions). Immutable; thread-safe.
#pragma once

#include <string_view>

namespace sealtrace::dashboard::assets {

std::string_view AppCss();
std::string_view AppJs();

}  // namespace sealtrace::dashboard::assets
