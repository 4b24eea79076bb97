# Celery actuator: pure pidbox/plan/queue-key helpers (unit), real workers (integration).
amas_unit_test(act_celery_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/celery_pidbox_test.cpp ${CMAKE_CURRENT_LIST_DIR}/celery_plan_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/queue_length_test.cpp
  DEPS amas_act)

add_executable(act_celery_integration_test ${CMAKE_CURRENT_LIST_DIR}/celery_integration_test.cpp)
target_link_libraries(act_celery_integration_test PRIVATE Catch2::Catch2WithMain act_redis_test_support)
add_test(NAME act_celery_integration_test COMMAND act_celery_integration_test)
set_tests_properties(act_celery_integration_test PROPERTIES LABELS integration TIMEOUT 300)
