# Third-party libraries of the device-side modules, with a static variant for
# the recorder.
#
# The recorder (sealtrace-recorder) runs all day on every contributor's
# desktop, so its resident memory matters (docs/BENCHMARKS.md). Every shared
# C++ library it maps costs resident pages it barely uses: relocated data, the
# first page of each segment, and code pages pulled in around each function it
# calls. Linked from static archives instead, only the objects it references
# are in its image, and libstdc++ is not mapped at all.
#
# Each dependency is an INTERFACE target `st_dep_<name>` whose link items
# depend on the target being linked: an executable with the property
# SEALTRACE_STATIC_DEPS set gets the static archives, every other target (the
# `sealtrace` binary, the uploader, tests) the shared libraries. Headers and
# definitions are the same in both, so the modules are compiled once.
#
# Off under sanitizers and fuzzing (their runtimes expect the shared C++
# library), or with -DSEALTRACE_STATIC_RECORDER=OFF.

set(_st_static_default ON)
if(SEALTRACE_SANITIZE OR SEALTRACE_FUZZ)
  set(_st_static_default OFF)
endif()
option(SEALTRACE_STATIC_RECORDER
  "Link sealtrace-recorder with static archives of its C++ dependencies" ${_st_static_default})

set(_st_is_static "$<BOOL:$<TARGET_PROPERTY:SEALTRACE_STATIC_DEPS>>")

# sealtrace_dep(NAME SHARED <items...> STATIC <items...> [USAGE <targets...>])
#   USAGE: targets whose include directories and compile definitions every
#   consumer gets whichever variant links (default: the SHARED items).
function(sealtrace_dep name)
  cmake_parse_arguments(D "" "" "SHARED;STATIC;USAGE" ${ARGN})
  add_library(st_dep_${name} INTERFACE)
  if(NOT D_USAGE)
    set(D_USAGE ${D_SHARED})
  endif()
  foreach(t IN LISTS D_USAGE)
    if(TARGET ${t})
      target_include_directories(st_dep_${name} SYSTEM INTERFACE
        $<TARGET_PROPERTY:${t},INTERFACE_INCLUDE_DIRECTORIES>)
      target_compile_definitions(st_dep_${name} INTERFACE
        $<TARGET_PROPERTY:${t},INTERFACE_COMPILE_DEFINITIONS>)
      target_compile_options(st_dep_${name} INTERFACE
        $<TARGET_PROPERTY:${t},INTERFACE_COMPILE_OPTIONS>)
    endif()
  endforeach()
  if(NOT SEALTRACE_STATIC_RECORDER)
    target_link_libraries(st_dep_${name} INTERFACE ${D_SHARED})
    return()
  endif()
  foreach(i IN LISTS D_SHARED)
    target_link_libraries(st_dep_${name} INTERFACE "$<$<NOT:${_st_is_static}>:${i}>")
  endforeach()
  foreach(i IN LISTS D_STATIC)
    target_link_libraries(st_dep_${name} INTERFACE "$<${_st_is_static}:${i}>")
  endforeach()
endfunction()

set(_st_libdir "")
if(SEALTRACE_STATIC_RECORDER)
  get_target_property(_st_absl_so absl::base IMPORTED_LOCATION_NONE)
  get_filename_component(_st_libdir "${_st_absl_so}" DIRECTORY)
  function(_st_find_static var file)
    find_library(${var} NAMES ${file} HINTS "${_st_libdir}" NO_CACHE REQUIRED)
    set(${var} "${${var}}" PARENT_SCOPE)
  endfunction()
  # Runtime only: the recorder compiles patterns in a helper (hs_compile.h).
  _st_find_static(ST_HS_A libhs_runtime.a)
  _st_find_static(ST_PROTOBUF_LITE_A libprotobuf-lite.a)
  _st_find_static(ST_SODIUM_A libsodium.a)
  _st_find_static(ST_ZSTD_A libzstd.a)
  _st_find_static(ST_PNG_A libpng16.a)
  _st_find_static(ST_Z_A libz.a)
  # Every Abseil archive in one group: the linker takes only the objects the
  # recorder references, in whatever order they depend on each other.
  file(GLOB _st_absl_archives "${_st_libdir}/libabsl_*.a")
  if(NOT _st_absl_archives)
    message(FATAL_ERROR "SEALTRACE_STATIC_RECORDER: no libabsl_*.a in ${_st_libdir}")
  endif()
  set(ST_ABSL_GROUP "-Wl,--start-group" ${_st_absl_archives} "-Wl,--end-group")
endif()

sealtrace_dep(absl SHARED absl::status absl::statusor absl::strings STATIC ${ST_ABSL_GROUP})
sealtrace_dep(sodium SHARED PkgConfig::SODIUM STATIC ${ST_SODIUM_A})
sealtrace_dep(zstd SHARED ${SEALTRACE_ZSTD} STATIC ${ST_ZSTD_A})
# Modules name zstd through this variable.
set(SEALTRACE_ZSTD st_dep_zstd)
sealtrace_dep(hs SHARED PkgConfig::LIBHS STATIC ${ST_HS_A})
sealtrace_dep(png SHARED PkgConfig::LIBPNG STATIC ${ST_PNG_A} ${ST_Z_A})
sealtrace_dep(protobuf SHARED protobuf::libprotobuf-lite STATIC ${ST_PROTOBUF_LITE_A})
# spdlog, fmt and toml++ ship no static archives in Debian: their code is
# compiled from their own headers into third_party/compiled_in.
sealtrace_dep(spdlog SHARED spdlog::spdlog STATIC st_compiled_in_spdlog)
sealtrace_dep(toml SHARED PkgConfig::TOMLPP STATIC st_compiled_in_toml)

# Marks an executable as linked with the static variants, and without the
# shared libstdc++ and libgcc_s.
function(sealtrace_static_deps target)
  if(SEALTRACE_STATIC_RECORDER)
    set_target_properties(${target} PROPERTIES SEALTRACE_STATIC_DEPS ON)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
endfunction()
