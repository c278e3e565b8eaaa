# CPack runs this on the .deb's staging tree before it packs it (CPACK_PRE_BUILD_SCRIPTS, in
# cmake/Packaging.cmake). The .deb is for Debian's family, which runs systemd, and follows
# Debian's rules where `cmake --install` does not:
# - it adds /usr/share/doc/swamp-bpf/copyright (machine-readable) and changelog.gz (a Debian
#   changelog, as a native package has), and lintian's overrides, each warning explained there;
# - it leaves out LICENSE (the copyright file names /usr/share/common-licenses/GPL-2) and the
#   OpenRC files (the script, its settings and the rotation of its log): /etc/init.d is for sysvinit scripts on Debian, and an openrc-run script there
#   breaks its rules (lintian: init.d-script-does-not-implement-required-option). Gentoo and
#   other OpenRC systems install with `cmake --install`.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
set(root "${CPACK_TEMPORARY_DIRECTORY}")
set(debian "${CPACK_SWAMP_SOURCE_DIR}/config/debian")
set(doc "${root}/usr/share/doc/swamp-bpf")
if(NOT IS_DIRECTORY "${doc}")
  message(FATAL_ERROR "DebStaging.cmake: no ${doc} in the staging tree")
endif()
file(REMOVE_RECURSE "${root}/etc/init.d" "${root}/etc/conf.d" "${root}/etc/logrotate.d" "${doc}/LICENSE")

# (file(COPY), not file(INSTALL): CPack sets DESTDIR, which file(INSTALL) would put in front)
set(mode FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(COPY "${debian}/copyright" DESTINATION "${doc}" ${mode})
execute_process(COMMAND gzip -9n -c "${debian}/changelog" OUTPUT_FILE "${doc}/changelog.gz"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "DebStaging.cmake: gzip of ${debian}/changelog failed")
endif()
file(CHMOD "${doc}/changelog.gz" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(COPY "${debian}/lintian-overrides" DESTINATION "${root}/usr/share/lintian/overrides" ${mode})
file(RENAME "${root}/usr/share/lintian/overrides/lintian-overrides" "${root}/usr/share/lintian/overrides/swamp-bpf")
