# cmake -DLAYER=policy -DALLOWED=policy,memory,tree -DDIR=userspace [-DSTAMP=file] -P CheckLayer.cmake
# Fails if a file of DIR/LAYER/ includes "X/..." where X is a layer (a folder of
# DIR) not in ALLOWED; touches STAMP when none does.
cmake_minimum_required(VERSION 3.16)  # IN_LIST
string(REPLACE "," ";" allowed "${ALLOWED}")
file(GLOB files ${DIR}/${LAYER}/*.cpp ${DIR}/${LAYER}/*.hpp)
set(include_re "^[ \t]*#[ \t]*include[ \t]*\"([A-Za-z0-9_]+)/")
set(errors "")
foreach(file IN LISTS files)
  file(STRINGS ${file} lines REGEX "${include_re}")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "${include_re}" match "${line}")
    set(layer ${CMAKE_MATCH_1})
    if(IS_DIRECTORY ${DIR}/${layer} AND NOT layer IN_LIST allowed)
      file(RELATIVE_PATH shown ${DIR} ${file})
      string(APPEND errors "  ${shown}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "${LAYER}/ may include only ${ALLOWED}; these includes point to a layer above "
                      "or beside it (the layers: README.md, Design):\n${errors}")
endif()
if(STAMP)
  file(TOUCH ${STAMP})
endif()
