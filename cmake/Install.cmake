# Installable package: `cmake --install <build> --component runtime --prefix <prefix>` gives
#   include/seg/runtime/segcore_runtime.h, segcore_c.h     (standard-library-only headers)
#   lib/libsegcore_runtime.so                              (segcore linked in privately)
#   lib/cmake/segcore/                                     (find_package(segcore) -> segcore::runtime)
# A shared library, so that a consumer links one file and none of segcore's internal static
# libraries or third-party dependencies leak into its link line.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

file(GLOB runtime_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/seg/runtime/*.cpp)
add_library(segcore_runtime_shared SHARED ${runtime_sources})
target_link_libraries(segcore_runtime_shared PRIVATE segcore_seg)
target_include_directories(segcore_runtime_shared INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(segcore_runtime_shared PROPERTIES OUTPUT_NAME segcore_runtime EXPORT_NAME runtime
                      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
                      INSTALL_RPATH_USE_LINK_PATH ON)  # e.g. the CUDA toolkit's libraries

install(TARGETS segcore_runtime_shared EXPORT segcore_targets COMPONENT runtime
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/seg/runtime/segcore_runtime.h ${CMAKE_SOURCE_DIR}/seg/runtime/segcore_c.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seg/runtime COMPONENT runtime)
set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/segcore)
install(EXPORT segcore_targets NAMESPACE segcore:: FILE segcoreTargets.cmake DESTINATION ${config_dir}
        COMPONENT runtime)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/segcoreConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/segcoreConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/segcoreConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/segcoreConfig.cmake ${CMAKE_BINARY_DIR}/segcoreConfigVersion.cmake
        DESTINATION ${config_dir} COMPONENT runtime)
