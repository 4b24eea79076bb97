# The executor (framework shared by every actuator), the dry_run and exec actuators.
amas_unit_test(act_executor_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/executor_test.cpp ${CMAKE_CURRENT_LIST_DIR}/dry_run_test.cpp
  DEPS amas_act)
amas_unit_test(act_exec_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/exec_test.cpp DEPS amas_act)
