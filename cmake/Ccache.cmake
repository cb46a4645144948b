# Use ccache for C++ and CUDA when it is installed: rebuilds on CI and after branch switches are cheap.
find_program(SEGCORE_CCACHE ccache)
if(SEGCORE_CCACHE)
  message(STATUS "segcore: using ccache (${SEGCORE_CCACHE})")
  set(CMAKE_C_COMPILER_LAUNCHER ${SEGCORE_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SEGCORE_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${SEGCORE_CCACHE})
endif()
