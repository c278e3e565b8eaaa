# swamp_bpf_skeleton(NAME SOURCE <file.bpf.c> [HEADERS <h>...])
# Compiles a CO-RE BPF object with clang against the pinned vmlinux/<arch>/vmlinux.h
# and generates <NAME>.skel.h with `bpftool gen skeleton`. Creates the INTERFACE
# target <NAME>_skel whose include directory holds the skeleton.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(SWAMP_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(SWAMP_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "swamp-bpf: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(SWAMP_VMLINUX_DIR ${PROJECT_SOURCE_DIR}/vmlinux/${SWAMP_BPF_ARCH})

function(swamp_bpf_skeleton NAME)
  cmake_parse_arguments(ARG "" "SOURCE" "HEADERS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${NAME})
  set(obj ${out}/${NAME}.bpf.o)
  set(skel ${out}/${NAME}.skel.h)
  get_filename_component(src ${ARG_SOURCE} ABSOLUTE)
  get_filename_component(srcdir ${src} DIRECTORY)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${SWAMP_BPF_ARCH}
            -I${SWAMP_VMLINUX_DIR} -I${srcdir} -Wall -Werror -Wno-unused-function
            -c ${src} -o ${obj}
    DEPENDS ${src} ${ARG_HEADERS} ${SWAMP_VMLINUX_DIR}/vmlinux.h
    COMMENT "BPF ${NAME}.bpf.o (${SWAMP_BPF_ARCH})"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${NAME} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${NAME}.skel.h"
    VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  target_include_directories(${NAME}_skel INTERFACE ${out})
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  set(${NAME}_BPF_OBJECT ${obj} PARENT_SCOPE)
endfunction()
