// toml++ 3.3 compiled from Debian's headers (TOML_HEADER_ONLY=0), for
// executables linked without libtomlplusplus.so (cmake/StaticDeps.cmake).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
