# Cross-compiling to aarch64 with Debian's g++-aarch64-linux-gnu and the
# multiarch :arm64 -dev packages (scripts/deps-arm64.sh), for
# scripts/cross-arm64.sh. The BPF objects are still built by the host's clang
# (-target bpf) against vmlinux/arm64/vmlinux.h; see cmake/BpfSkeleton.cmake.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: the target's libraries and CMake/pkg-config files
# live under /usr/lib/aarch64-linux-gnu, beside the host's; headers of Arch:
# all packages (CLI11, nlohmann-json) are shared in /usr/include.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# ctest and gtest_discover_tests run the aarch64 test binaries through qemu-user.
find_program(SWAMP_QEMU_AARCH64 qemu-aarch64-static qemu-aarch64)
if(SWAMP_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SWAMP_QEMU_AARCH64})
endif()
