# Warnings are errors in our own code; hardening flags as Debian's dpkg-buildflags would set.
# GCC 12 reports maybe-uninitialized false positives inside absl::StatusOr at -O2.
set(SEALTRACE_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND SEALTRACE_WARNINGS -Wno-maybe-uninitialized)
endif()
add_compile_options(-fstack-protector-strong -D_GLIBCXX_ASSERTIONS)
if(NOT SEALTRACE_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_definitions(_FORTIFY_SOURCE=2)
endif()
add_link_options(-Wl,-z,relro,-z,now)
# Relative relocations packed as a bitmap (DT_RELR, binutils 2.38 + glibc
# 2.36): a PIE's relocation table shrinks from ~24 bytes to a few bits per
# pointer, which the loader reads, and keeps resident, at every start.
include(CheckLinkerFlag)
check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" SEALTRACE_HAVE_RELR)
if(SEALTRACE_HAVE_RELR)
  add_link_options(-Wl,-z,pack-relative-relocs)
endif()
if(SEALTRACE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(SEALTRACE_FUZZ)
  # Instrument the library for coverage; fuzz/ links the libFuzzer driver itself.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Apply our warnings to a target (not to generated protobuf code).
function(sealtrace_warnings target)
  target_compile_options(${target} PRIVATE ${SEALTRACE_WARNINGS})
endfunction()
