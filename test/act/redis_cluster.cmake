# Redis Cluster actuator: pure parsing/planning (unit), 8 real redis-server nodes (integration).
amas_unit_test(act_redis_cluster_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/redis_cluster_topology_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/redis_cluster_plan_test.cpp
  DEPS amas_act)

add_executable(act_redis_cluster_integration_test
  ${CMAKE_CURRENT_LIST_DIR}/redis_cluster_integration_test.cpp)
target_link_libraries(act_redis_cluster_integration_test PRIVATE Catch2::Catch2WithMain
  act_redis_test_support)
add_test(NAME act_redis_cluster_integration_test COMMAND act_redis_cluster_integration_test)
set_tests_properties(act_redis_cluster_integration_test PROPERTIES LABELS integration TIMEOUT 600)
