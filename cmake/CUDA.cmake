# CUDA backend: AUTO turns it on when nvcc is found; ON insists; OFF builds the CPU backend only.
# cuBLAS is required with CUDA; cuDNN and NCCL are detected and optional.
set(SEGCORE_WITH_CUDA OFF)
set(SEGCORE_WITH_CUDNN OFF)
set(SEGCORE_WITH_NCCL OFF)

if(NOT SEGCORE_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(SEGCORE_WITH_CUDA ON)
  elseif(SEGCORE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "segcore: SEGCORE_CUDA=ON but nvcc was not found. Install the CUDA Toolkit "
                        "(https://developer.nvidia.com/cuda-downloads, or Debian's nvidia-cuda-toolkit) and put "
                        "nvcc on PATH or pass -DCMAKE_CUDA_COMPILER=/path/to/nvcc; or configure with -DSEGCORE_CUDA=OFF.")
  else()
    message(STATUS "segcore: nvcc not found, building the CPU backend only")
  endif()
endif()

add_library(segcore_deps_cuda INTERFACE)
if(SEGCORE_WITH_CUDA)
  if(SEGCORE_CUDA_ARCHITECTURES MATCHES "native|all")
    message(FATAL_ERROR "segcore: SEGCORE_CUDA_ARCHITECTURES='${SEGCORE_CUDA_ARCHITECTURES}' is not allowed: "
                        "build machines may have no GPU. Name the architectures, e.g. 90 or \"80;90\".")
  endif()
  set(CMAKE_CUDA_ARCHITECTURES ${SEGCORE_CUDA_ARCHITECTURES})
  enable_language(CUDA)
  # CMake 3.25 predates nvcc 13 and does not know its C++20 flag: teach it.
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(segcore_deps_cuda INTERFACE CUDA::cudart CUDA::cublas)
  target_compile_definitions(segcore_deps_cuda INTERFACE SEGCORE_WITH_CUDA=1)
  # -lineinfo keeps kernels debuggable/profilable at no speed cost.
  target_compile_options(segcore_deps_cuda INTERFACE
      $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xcompiler=-Wall>)

  find_path(SEGCORE_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(SEGCORE_CUDNN_LIB cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(SEGCORE_CUDNN_INCLUDE AND SEGCORE_CUDNN_LIB)
    set(SEGCORE_WITH_CUDNN ON)
    target_include_directories(segcore_deps_cuda INTERFACE ${SEGCORE_CUDNN_INCLUDE})
    target_link_libraries(segcore_deps_cuda INTERFACE ${SEGCORE_CUDNN_LIB})
    target_compile_definitions(segcore_deps_cuda INTERFACE SEGCORE_WITH_CUDNN=1)
  endif()
  find_path(SEGCORE_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(SEGCORE_NCCL_LIB nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(SEGCORE_NCCL_INCLUDE AND SEGCORE_NCCL_LIB)
    set(SEGCORE_WITH_NCCL ON)
    target_include_directories(segcore_deps_cuda INTERFACE ${SEGCORE_NCCL_INCLUDE})
    target_link_libraries(segcore_deps_cuda INTERFACE ${SEGCORE_NCCL_LIB})
    target_compile_definitions(segcore_deps_cuda INTERFACE SEGCORE_WITH_NCCL=1)
  endif()
  message(STATUS "segcore: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}, "
                 "cuDNN ${SEGCORE_WITH_CUDNN}, NCCL ${SEGCORE_WITH_NCCL}")
  target_link_libraries(segcore_deps_core INTERFACE segcore_deps_cuda)
endif()
