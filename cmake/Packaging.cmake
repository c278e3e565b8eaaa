# CPack: `cpack -G DEB` in the build directory (scripts/package.sh) makes
# swamp-bpf_<version>_<arch>.deb from the install rules (userspace/, config/).

set(SWAMP_PACKAGE_MAINTAINER "swamp-bpf maintainers <root@localhost>"
    CACHE STRING "The Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME swamp-bpf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SWAMP_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keeps memory-hungry parallel builds from running out of memory")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
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

# Every file under /etc is a conffile: an upgrade keeps the admin's changes.
set(swamp_conffiles /etc/swamp-bpf/swamp-bpf.conf /etc/default/swamp-bpf)
if(SWAMP_INSTALL_OPENRC)
  list(APPEND swamp_conffiles /etc/init.d/swamp-bpf /etc/conf.d/swamp-bpf)
endif()
list(JOIN swamp_conffiles "\n" swamp_conffiles)
file(WRITE ${PROJECT_BINARY_DIR}/cpack/conffiles "${swamp_conffiles}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/cpack/conffiles
    ${PROJECT_SOURCE_DIR}/config/debian/postinst
    ${PROJECT_SOURCE_DIR}/config/debian/prerm
    ${PROJECT_SOURCE_DIR}/config/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, conffiles 0644

include(CPack)
