# CPack: `cpack -G DEB` in the build directory (scripts/package.sh) makes
# swamp-bpf_<version>_<arch>.deb from the install rules (userspace/, config/).

# The Maintainer field is the trailer of the newest entry of config/debian/changelog, and the
# package's version must be that entry's: one place to change both.
file(STRINGS ${PROJECT_SOURCE_DIR}/config/debian/changelog swamp_changelog_head LIMIT_COUNT 1)
file(STRINGS ${PROJECT_SOURCE_DIR}/config/debian/changelog swamp_changelog_trailer REGEX "^ -- " LIMIT_COUNT 1)
string(REGEX REPLACE "^swamp-bpf \\(([^)]*)\\).*" "\\1" swamp_changelog_version "${swamp_changelog_head}")
string(REGEX REPLACE "^ -- (.*>)  .*" "\\1" SWAMP_PACKAGE_MAINTAINER "${swamp_changelog_trailer}")
if(NOT swamp_changelog_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "config/debian/changelog's newest entry is ${swamp_changelog_version}, the project ${PROJECT_VERSION}: add an entry")
endif()

set(CPACK_PACKAGE_NAME swamp-bpf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SWAMP_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keeps memory-hungry parallel builds from running out of memory")
set(CPACK_STRIP_FILES ON)   # RelWithDebInfo's debug info stays in the build tree
set(CPACK_GENERATOR DEB)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # swamp-bpf_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# After the summary line; CPack indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"swamp-bpf pipelines parallel builds (make, ninja, cargo, emerge...) under
memory pressure: eBPF programs follow every process of a build, and a
controller stops the jobs that would not fit (SIGSTOP or a cgroup v2 freeze)
and resumes them as soon as memory frees up, so that a build at -j4 on a
small machine finishes without an OOM kill.
.
The package ships a systemd unit and an OpenRC script for service mode;
neither is enabled: systemctl enable --now swamp-bpf.")
if(SWAMP_STATIC)
  # A static binary has no shared libraries to depend on.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps (dpkg-dev): libbpf1, libsqlite3-0, ...
endif()
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR STREQUAL "aarch64")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)  # not the build host's dpkg architecture
endif()

# Every file under /etc is a conffile: an upgrade keeps the admin's changes. (The OpenRC files
# are not in the .deb: cmake/DebStaging.cmake.)
file(WRITE ${PROJECT_BINARY_DIR}/cpack/conffiles "/etc/swamp-bpf/swamp-bpf.conf\n/etc/default/swamp-bpf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/cpack/conffiles
    ${PROJECT_SOURCE_DIR}/config/debian/postinst
    ${PROJECT_SOURCE_DIR}/config/debian/prerm
    ${PROJECT_SOURCE_DIR}/config/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, conffiles 0644
# Debian's own files in, LICENSE and the OpenRC files out, in the .deb only (cmake/DebStaging.cmake)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/DebStaging.cmake)
set(CPACK_SWAMP_SOURCE_DIR ${PROJECT_SOURCE_DIR})

# The source tarball for distribution packagers: `cmake --build build --target package_source`
# (or scripts/package.sh --source) writes swamp-bpf-<version>.tar.gz, the tree without build
# directories, benchmark results or git's files.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME swamp-bpf-${PROJECT_VERSION})
# (CPackSourceConfig.cmake gets these as written, so a regex's backslash is doubled once more;
# the .deb's prefix, /usr, is CPack's default for DEB, and a source tarball has none)
string(REPLACE "." "\\\\." swamp_src_re "${PROJECT_SOURCE_DIR}")
set(CPACK_SOURCE_IGNORE_FILES
    "^${swamp_src_re}/\\\\.git(/|$)"
    "^${swamp_src_re}/build(-[^/]*)?/"
    "^${swamp_src_re}/Testing/"
    "^${swamp_src_re}/bench-results/"
    "\\\\.o$")

include(CPack)
