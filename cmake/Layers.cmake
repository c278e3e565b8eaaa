# One static library per layer of userspace/, linked only to the layers below it.
#
#   swamp_layer(NAME [DEPENDS layer...] SOURCES file...)
#
# makes swamp_NAME from NAME/'s sources and checks, whenever one of NAME/'s files
# changes, that they include headers only of NAME itself and of the layers below
# it (DEPENDS and what those depend on): an include that points back up fails the
# build, naming the file and the include (cmake/CheckLayer.cmake).

set(SWAMP_LAYER_CHECK ${CMAKE_CURRENT_LIST_DIR}/CheckLayer.cmake)

function(swamp_layer NAME)
  cmake_parse_arguments(L "" "" "DEPENDS;SOURCES" ${ARGN})
  set(below ${L_DEPENDS})
  foreach(dep IN LISTS L_DEPENDS)
    get_property(deeper GLOBAL PROPERTY SWAMP_LAYER_BELOW_${dep})
    list(APPEND below ${deeper})
  endforeach()
  list(REMOVE_DUPLICATES below)
  set_property(GLOBAL PROPERTY SWAMP_LAYER_BELOW_${NAME} ${below})

  add_library(swamp_${NAME} STATIC ${L_SOURCES})
  target_include_directories(swamp_${NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bpf)
  foreach(dep IN LISTS L_DEPENDS)
    target_link_libraries(swamp_${NAME} PUBLIC swamp_${dep})
  endforeach()

  file(GLOB files CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${NAME}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/${NAME}/*.hpp)
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/layer-${NAME}.checked)
  string(REPLACE ";" "," below_csv "${NAME};${below}")
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DLAYER=${NAME} -DALLOWED=${below_csv} -DDIR=${CMAKE_CURRENT_SOURCE_DIR}
            -DSTAMP=${stamp} -P ${SWAMP_LAYER_CHECK}
    DEPENDS ${files} ${SWAMP_LAYER_CHECK}
    COMMENT "Checking that ${NAME}/ includes only the layers below it")
  add_custom_target(swamp_${NAME}_layer_check DEPENDS ${stamp})
  add_dependencies(swamp_${NAME} swamp_${NAME}_layer_check)
endfunction()
