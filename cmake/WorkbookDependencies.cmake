# Finds what the workbook needs and stops with one clear message naming the Debian package
# to install when something is missing. Nothing is ever downloaded.
include(CheckCXXSourceCompiles)

function(workbook_require_package what package)
  message(FATAL_ERROR
    "${what} was not found.\n"
    "Install it with:  sudo apt-get install ${package}\n"
    "(or run .ci/run as root once: it installs everything the workbook needs)")
endfunction()

find_package(Threads REQUIRED)

find_package(fmt CONFIG QUIET)
if(NOT fmt_FOUND)
  workbook_require_package("The fmt library" libfmt-dev)
endif()

set(WORKBOOK_GOOGLETEST_SOURCE "/usr/src/googletest" CACHE PATH
    "GoogleTest source tree, compiled here with the same sanitizer flags as the tests")
if(NOT EXISTS "${WORKBOOK_GOOGLETEST_SOURCE}/CMakeLists.txt")
  workbook_require_package("The GoogleTest source (${WORKBOOK_GOOGLETEST_SOURCE})" googletest)
endif()

if(WORKBOOK_BENCHMARKS)
  find_package(benchmark CONFIG QUIET)
  if(NOT benchmark_FOUND)
    workbook_require_package("Google Benchmark" libbenchmark-dev)
  endif()
endif()
