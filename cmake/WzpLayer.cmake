# wzp_layer(NAME SOURCES ... DEPS ...): one static library per layer, target wzp_NAME,
# headers live beside the sources and are included as "NAME/x.h" from the src/ root.
function(wzp_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS" ${ARGN})
  if(L_SOURCES)
    add_library(wzp_${name} STATIC ${L_SOURCES})
    target_include_directories(wzp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(wzp_${name} PUBLIC ${L_DEPS})
  else()
    # A layer whose issue has not landed yet: a target with no code, so that the graph of
    # dependencies is already in place.
    add_library(wzp_${name} INTERFACE)
    target_include_directories(wzp_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(wzp_${name} INTERFACE ${L_DEPS})
  endif()
endfunction()

# wzp_test(NAME LAYER SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary whose tests are
# registered with ctest as LAYER.Suite.Case, so that `ctest -R '^LAYER\.'` runs one layer.
# Tests labelled slow use real sockets and processes and timing: they run one at a time, so
# that a parallel CPU-heavy test cannot starve them into flakiness.
function(wzp_test name)
  cmake_parse_arguments(T "" "LAYER" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set(serial FALSE)
  if("slow" IN_LIST T_LABELS)
    set(serial TRUE)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name}
    TEST_PREFIX "${T_LAYER}."
    PROPERTIES LABELS "${T_LABELS}" RUN_SERIAL ${serial}
    DISCOVERY_TIMEOUT 30)
endfunction()
