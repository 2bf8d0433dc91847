# One helper per kind of target, so that module CMake files stay a few lines.

set(SLUICE_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
  # librdkafka's RD_KAFKA_V_* macros are GNU statement expressions.
  $<$<CXX_COMPILER_ID:Clang>:-Wno-gnu-statement-expression-from-macro-expansion>
  # GCC 12 at -O3 reports std::string copies it inlined as overlapping or uninitialized
  # (GCC bugs 105329, 105651); clang's build keeps both checks.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict -Wno-maybe-uninitialized>
  # Unity builds include .cc files, which GCC then takes for headers whose types must not use
  # the file's anonymous namespace.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
if(SLUICE_WERROR)
  list(APPEND SLUICE_WARNINGS -Werror)
endif()
set(SLUICE_SANITIZER_FLAGS "")
if(SLUICE_SANITIZE)
  set(SLUICE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()

function(sluice_apply_flags target)
  target_compile_options(${target} PRIVATE ${SLUICE_WARNINGS} ${SLUICE_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${SLUICE_SANITIZER_FLAGS})
endfunction()

# sluice_library(NAME SRCS ... DEPS ...)
# In the fuzzing configuration the libraries (the code under test) carry libFuzzer's coverage
# instrumentation, so that the fuzzers see the branches they reach; the sanitizer runtimes
# linked into every other binary of that build provide no-op hooks for it.
function(sluice_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  sluice_apply_flags(${name})
  # Compiled in batches of files: each batch parses the shared headers (Asio's coroutines,
  # Beast, spdlog) and instantiates their templates once instead of once per file, which
  # halves a cold build on two cores. A file's anonymous namespace is thus shared with the
  # other files of its batch: its names must not clash with theirs.
  set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  if(SLUICE_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# sluice_test(NAME SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
function(sluice_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  sluice_apply_flags(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}"
    ENVIRONMENT "SLUICE_BIN=$<TARGET_FILE:sluice>")
endfunction()

# sluice_executable(NAME SRCS ... DEPS ...)
function(sluice_executable name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  sluice_apply_flags(${name})
endfunction()
