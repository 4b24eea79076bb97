# The kubernetes actuator: unit tests (config, paths, errors, rate limiter) and
# integration tests against test/k8s_standin, a stand-in for the API server
# (Python 3 stdlib; Debian ships no API server).
amas_unit_test(act_kubernetes_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/kubernetes_config_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/k8s_rate_limiter_test.cpp
  DEPS amas_act)

# The system python3 (not a pyenv shim or a venv): the stand-in needs only the stdlib.
find_program(AMAS_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT AMAS_PYTHON3)
  find_program(AMAS_PYTHON3 NAMES python3 REQUIRED)
endif()
add_executable(act_kubernetes_standin_test ${CMAKE_CURRENT_LIST_DIR}/kubernetes_standin_test.cpp)
target_link_libraries(act_kubernetes_standin_test PRIVATE
  Catch2::Catch2WithMain amas_testing amas_act CURL::libcurl)
target_compile_definitions(act_kubernetes_standin_test PRIVATE
  AMAS_PYTHON3="${AMAS_PYTHON3}"
  AMAS_STANDIN_SCRIPT="${CMAKE_SOURCE_DIR}/test/k8s_standin/standin.py")
catch_discover_tests(act_kubernetes_standin_test TEST_PREFIX "act_kubernetes_standin: "
  PROPERTIES LABELS integration)
