# Process and redis-server helpers shared by the Redis and Celery integration tests.
add_library(act_redis_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/redis_test_support.cpp)
target_link_libraries(act_redis_test_support PUBLIC amas_act amas_testing)
