# Helper functions: one per kind of target.

cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH WORKBOOK_ROOT)

# Resolve WORKBOOK_IMPL to a directory.
if(WORKBOOK_IMPL STREQUAL "exercises" OR WORKBOOK_IMPL STREQUAL "solutions")
  set(WORKBOOK_IMPL_DIR "${WORKBOOK_ROOT}/${WORKBOOK_IMPL}")
else()
  cmake_path(ABSOLUTE_PATH WORKBOOK_IMPL BASE_DIRECTORY "${WORKBOOK_ROOT}"
             NORMALIZE OUTPUT_VARIABLE WORKBOOK_IMPL_DIR)
endif()
if(NOT IS_DIRECTORY "${WORKBOOK_IMPL_DIR}")
  message(FATAL_ERROR "WORKBOOK_IMPL=${WORKBOOK_IMPL}: no such directory (${WORKBOOK_IMPL_DIR}). "
                      "Use exercises, solutions, or a directory laid out like solutions/.")
endif()
message(STATUS "Workbook: testing the implementation in ${WORKBOOK_IMPL_DIR}")

# Warnings for every target of ours.
add_library(workbook_warnings INTERFACE)
target_compile_options(workbook_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       $<$<BOOL:${WORKBOOK_WERROR}>:-Werror>)

# clangd looks for compile_commands.json in build/: point it at the learner's build.
if(CMAKE_BINARY_DIR STREQUAL "${WORKBOOK_ROOT}/build/exercises")
  file(CREATE_LINK "${CMAKE_BINARY_DIR}/compile_commands.json"
       "${WORKBOOK_ROOT}/build/compile_commands.json" SYMBOLIC)
endif()

# Adds the sanitizer flags to every target defined after this call in this directory and
# below, GoogleTest included (it must share the tests' flags, or TSan sees its own locking
# as races).
macro(workbook_enable_sanitizer)
  if(WORKBOOK_SANITIZER STREQUAL "thread")
    set(CMAKE_REQUIRED_FLAGS "-fsanitize=thread")
    set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=thread")
    check_cxx_source_compiles("int main() { return 0; }" WORKBOOK_HAVE_TSAN)
    unset(CMAKE_REQUIRED_FLAGS)
    unset(CMAKE_REQUIRED_LINK_OPTIONS)
    if(NOT WORKBOOK_HAVE_TSAN)
      if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        workbook_require_package("ThreadSanitizer's runtime for clang" libclang-rt-14-dev)
      else()
        workbook_require_package("ThreadSanitizer's runtime for g++ (libtsan)" libtsan2)
      endif()
    endif()
    add_compile_options(-fsanitize=thread -g -O1 -fno-omit-frame-pointer)
    add_link_options(-fsanitize=thread)
  elseif(NOT WORKBOOK_SANITIZER STREQUAL "none")
    message(FATAL_ERROR "WORKBOOK_SANITIZER must be thread or none, not ${WORKBOOK_SANITIZER}")
  endif()
endmacro()

function(workbook_add_googletest)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  add_subdirectory("${WORKBOOK_GOOGLETEST_SOURCE}" "${CMAKE_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL SYSTEM)
endfunction()

# The ctest test names of a suite, read from its TEST(...) lines: the list is known at
# configure time, so a topic whose code does not compile still shows its tests (failing).
function(workbook_read_test_names source out_var)
  file(STRINGS "${source}" lines REGEX "^[ \t]*TEST(_F)?[ \t]*\\(")
  set(names "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*TEST(_F)?[ \t]*\\([ \t]*([A-Za-z0-9_]+)[ \t]*,[ \t]*([A-Za-z0-9_]+)[ \t]*\\)")
      set(name "${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
      if(NOT name MATCHES "(^|\\.)DISABLED_")
        list(APPEND names "${name}")
      endif()
    endif()
  endforeach()
  set(${out_var} "${names}" PARENT_SCOPE)
endfunction()

# One test executable for a topic's suite, built against the headers in include_dir.
function(workbook_add_suite_executable target source include_dir)
  add_executable(${target} ${source})
  target_include_directories(${target} PRIVATE "${include_dir}" "${WORKBOOK_ROOT}/exercises/common")
  target_link_libraries(${target} PRIVATE workbook_test_support workbook_warnings)
  # The tests run through the launcher: building any suite builds it too.
  add_dependencies(${target} workbook_run)
endfunction()

# workbook_topic(NN_name): the suite tests/NN_name/NN... built against the chosen
# implementation, one ctest test per TEST(), labelled by topic; with WORKBOOK_MUTANTS, one
# more test per mutant and per alternative (the gallery, see workbook_gallery).
function(workbook_topic topic_dir)
  string(REGEX REPLACE "^[0-9]+_" "" topic "${topic_dir}")
  file(GLOB sources CONFIGURE_DEPENDS "${WORKBOOK_ROOT}/tests/${topic_dir}/*_test.cpp")
  list(LENGTH sources count)
  foreach(part IN ITEMS "exercises/${topic_dir}" "solutions/${topic_dir}" "notes/${topic_dir}.md")
    if(NOT EXISTS "${WORKBOOK_ROOT}/${part}")
      message(FATAL_ERROR "topic ${topic_dir} has no ${part}: every topic has an exercise, a solution, tests and a note")
    endif()
  endforeach()
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "tests/${topic_dir} must hold exactly one *_test.cpp (found ${count})")
  endif()
  workbook_read_test_names("${sources}" tests)

  set(exe "${topic}_test")
  workbook_add_suite_executable(${exe} "${sources}" "${WORKBOOK_IMPL_DIR}/${topic_dir}")

  # Each topic builds itself as the first step of its tests, so `ctest -L topic` after an edit
  # rebuilds what changed, and a compile error in one topic leaves the others running.
  add_test(NAME ${topic}.build
           COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}" --target ${exe})
  set_tests_properties(${topic}.build PROPERTIES
    FIXTURES_SETUP ${topic}_built RESOURCE_LOCK workbook_build TIMEOUT 600)
  set_property(TEST ${topic}.build PROPERTY LABELS ${topic} ${topic_dir} build)

  foreach(test IN LISTS tests)
    add_test(NAME ${topic}.${test}
             COMMAND workbook_run --timeout ${WORKBOOK_TEST_TIMEOUT} --
                     $<TARGET_FILE:${exe}> --gtest_filter=${test})
    math(EXPR backstop "${WORKBOOK_TEST_TIMEOUT} + 30")
    set_tests_properties(${topic}.${test} PROPERTIES
      FIXTURES_REQUIRED ${topic}_built TIMEOUT ${backstop})
    set_property(TEST ${topic}.${test} PROPERTY LABELS ${topic} ${topic_dir})
  endforeach()

  if(WORKBOOK_MUTANTS)
    workbook_gallery(${topic_dir} ${topic} "${sources}" mutant "// BUG: " --expect-caught 5)
    workbook_gallery(${topic_dir} ${topic} "${sources}" alternative "// ALTERNATIVE: " --expect-all-pass 0)
  endif()
endfunction()

# Builds the suite against `file` put in place of the topic's one solution header, in an
# overlay directory; sets <out_var> to the executable's target name.
function(workbook_overlay_executable topic_dir topic kind source file out_var)
  file(GLOB headers "${WORKBOOK_ROOT}/solutions/${topic_dir}/*.hpp")
  list(LENGTH headers count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "solutions/${topic_dir} must hold exactly one header for the ${kind}s (found ${count})")
  endif()
  cmake_path(GET headers FILENAME header)
  cmake_path(GET file STEM name)
  set(overlay "${CMAKE_BINARY_DIR}/${kind}s/${topic_dir}/${name}")
  configure_file("${file}" "${overlay}/${header}" COPYONLY)
  set(exe "${topic}_${kind}_${name}")
  workbook_add_suite_executable(${exe} "${source}" "${overlay}")
  # The gallery is some 250 builds of the same test files: share one precompiled header of what
  # they all include, and keep only line tables (enough for TSan's file:line), which halves the
  # build time of CI's gallery step.
  target_compile_options(${exe} PRIVATE -g1)
  target_precompile_headers(${exe} REUSE_FROM workbook_gallery_pch)
  set(${out_var} ${exe} PARENT_SCOPE)
endfunction()

# The precompiled header the gallery's executables share (see workbook_overlay_executable).
function(workbook_add_gallery_pch)
  if(TARGET workbook_gallery_pch)
    return()
  endif()
  file(WRITE "${CMAKE_BINARY_DIR}/workbook_gallery_pch.cpp" "// only here to build the gallery's precompiled header\n")
  add_library(workbook_gallery_pch STATIC "${CMAKE_BINARY_DIR}/workbook_gallery_pch.cpp")
  target_include_directories(workbook_gallery_pch PRIVATE "${WORKBOOK_ROOT}/exercises/common")
  target_link_libraries(workbook_gallery_pch PRIVATE workbook_test_support workbook_warnings)
  target_compile_options(workbook_gallery_pch PRIVATE -g1)
  target_precompile_headers(workbook_gallery_pch PRIVATE
    "${WORKBOOK_ROOT}/tests/support/workbook_test.hpp" <gtest/gtest.h> <fmt/format.h>
    <algorithm> <atomic> <chrono> <condition_variable> <exception> <functional> <map> <memory>
    <mutex> <optional> <stdexcept> <string> <thread> <vector>)
endfunction()

# The test gallery of a topic: one ctest test "<kind>.<topic>.<name>" (labels <kind>, <topic>)
# per tests/<topic_dir>/<kind>s/*.hpp, whose first line must start with `marker`; at least
# `min_count` of them. A mutant (the reference with one mistake) passes when some test of the
# suite fails on it; an alternative (a correct answer of another design) passes only when every
# test passes on it. The launcher runs the tests one process each.
function(workbook_gallery topic_dir topic source kind marker launcher_mode min_count)
  file(GLOB files CONFIGURE_DEPENDS "${WORKBOOK_ROOT}/tests/${topic_dir}/${kind}s/*.hpp")
  list(LENGTH files count)
  if(count LESS min_count)
    message(FATAL_ERROR "tests/${topic_dir}/${kind}s holds ${count} ${kind}s; every topic keeps at least ${min_count}")
  endif()
  workbook_add_gallery_pch()
  foreach(file IN LISTS files)
    file(STRINGS "${file}" first_line LIMIT_COUNT 1)
    string(FIND "${first_line}" "${marker}" at)
    if(NOT at EQUAL 0)
      message(FATAL_ERROR "${file}: the first line must be '${marker}<what it is>'")
    endif()
    workbook_overlay_executable(${topic_dir} ${topic} ${kind} "${source}" "${file}" exe)
    cmake_path(GET file STEM name)
    add_test(NAME ${kind}.${topic}.${name}
             COMMAND workbook_run ${launcher_mode} --timeout ${WORKBOOK_TEST_TIMEOUT}
                     --what "${file}" -- $<TARGET_FILE:${exe}>)
    set_tests_properties(${kind}.${topic}.${name} PROPERTIES TIMEOUT 900)
    set_property(TEST ${kind}.${topic}.${name} PROPERTY LABELS ${kind} ${topic})
  endforeach()
endfunction()
