# Third-party code comes from Debian packages (scripts/setup.sh installs the missing ones).
# Each missing dependency stops the configure with the package to install.
function(segcore_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "segcore: ${what} not found. Install the Debian package '${package}' "
                        "(sudo apt-get install ${package}) or run scripts/setup.sh.")
  endif()
endfunction()

find_package(Threads REQUIRED)

find_package(Eigen3 3.3 QUIET NO_MODULE)
segcore_require(Eigen3_FOUND "Eigen 3" libeigen3-dev)

find_package(nlohmann_json 3 QUIET)
segcore_require(nlohmann_json_FOUND "nlohmann/json" nlohmann-json3-dev)

find_path(SEGCORE_STB_INCLUDE stb_image.h PATH_SUFFIXES stb)
segcore_require(SEGCORE_STB_INCLUDE "stb_image.h" libstb-dev)

find_package(PNG QUIET)
segcore_require(PNG_FOUND "libpng" libpng-dev)

if(SEGCORE_BUILD_TESTS)
  find_package(Catch2 2 QUIET)
  segcore_require(Catch2_FOUND "Catch2" catch2)
endif()
if(SEGCORE_BUILD_BENCH)
  find_package(benchmark QUIET)
  segcore_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)
endif()

# Interface targets bundle what each layer may use, so the dependency direction is visible here.
add_library(segcore_deps_core INTERFACE)
target_link_libraries(segcore_deps_core INTERFACE Threads::Threads nlohmann_json::nlohmann_json)
add_library(segcore_deps_kernels INTERFACE)
target_link_libraries(segcore_deps_kernels INTERFACE Eigen3::Eigen)
add_library(segcore_deps_data INTERFACE)
target_include_directories(segcore_deps_data INTERFACE ${SEGCORE_STB_INCLUDE})
target_link_libraries(segcore_deps_data INTERFACE PNG::PNG)
