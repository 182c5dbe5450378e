# Installing Keel (`cmake --install`) and its Debian package (`cpack -G DEB`
# in the build dir), in the FHS layout docs/deployment.md describes:
#   /usr/bin/keel, /usr/bin/keelctl
#   /etc/keel/node.yaml (a conffile), /etc/keel/workflows/
#   /lib/systemd/system/keel-node.service, keel-executor@.service
#   /usr/share/doc/keel/ (README, docs, examples), /usr/share/man/man1/
#   /var/lib/keel: made by the package's postinst for the `keel` user
# The default prefix is /usr, so a plain install lands where the package
# puts things; stage it elsewhere with DESTDIR (DESTDIR=/tmp/root cmake
# --install build).
include_guard(GLOBAL)

if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)  # with prefix /usr: SYSCONFDIR /etc, LOCALSTATEDIR /var
set(keel_etc ${CMAKE_INSTALL_FULL_SYSCONFDIR}/keel)
# Debian 12 installs units under /lib (lintian: systemd-service-file-outside-lib).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(keel_units /lib/systemd/system)
else()
  set(keel_units ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(keel_pkg ${PROJECT_SOURCE_DIR}/config/package)
set(keel_staged ${CMAKE_BINARY_DIR}/package-files)

# /etc/keel/node.yaml: the shipped config with its state in /var/lib/keel
# (the one line that differs; the embedded default keeps ../keel-data).
file(READ ${PROJECT_SOURCE_DIR}/config/node.yaml keel_node_yaml)
string(FIND "${keel_node_yaml}" "data_dir: ../keel-data " keel_at)
if(keel_at EQUAL -1)
  message(FATAL_ERROR "config/node.yaml: the package points `data_dir: ../keel-data` at /var/lib/keel; update cmake/package.cmake")
endif()
string(REPLACE "data_dir: ../keel-data " "data_dir: /var/lib/keel" keel_node_yaml "${keel_node_yaml}")
file(WRITE ${keel_staged}/node.yaml
     "# /etc/keel/node.yaml, from the keel package. Edit it, then `keelctl reload`\n"
     "# (or `systemctl reload keel-node`); docs/deployment.md.\n${keel_node_yaml}")
file(WRITE ${keel_staged}/conffiles "${keel_etc}/node.yaml\n")

install(TARGETS keel keelctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${keel_staged}/node.yaml DESTINATION ${keel_etc})
install(DIRECTORY DESTINATION ${keel_etc}/workflows)
install(FILES ${keel_pkg}/keel-node.service ${keel_pkg}/keel-executor@.service DESTINATION ${keel_units})
install(FILES README.md ${keel_pkg}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES config/executor.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY config/workflows/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/workflows)

# Debian wants a compressed changelog (changelog.gz: a native package, no
# Debian revision) and a manual page per program.
add_custom_command(OUTPUT ${keel_staged}/changelog.gz
                   COMMAND sh -c "gzip -9n < '${keel_pkg}/changelog' > '${keel_staged}/changelog.gz'"
                   DEPENDS ${keel_pkg}/changelog VERBATIM)
set(keel_docs_out ${keel_staged}/changelog.gz)
find_program(KEEL_HELP2MAN help2man)
if(KEEL_HELP2MAN)
  foreach(prog keel keelctl)
    if(prog STREQUAL "keel")
      set(summary "node, executor, backups and local cluster of the Keel agent runtime")
    else()
      set(summary "inspect and drive a Keel node")
    endif()
    add_custom_command(OUTPUT ${keel_staged}/${prog}.1.gz
                       COMMAND sh -c "'${KEEL_HELP2MAN}' --no-info --no-discard-stderr --name='${summary}' '$<TARGET_FILE:${prog}>' | gzip -9n > '${keel_staged}/${prog}.1.gz'"
                       DEPENDS ${prog} VERBATIM)
    list(APPEND keel_docs_out ${keel_staged}/${prog}.1.gz)
    install(FILES ${keel_staged}/${prog}.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 OPTIONAL)
  endforeach()
endif()
add_custom_target(keel_package_docs ALL DEPENDS ${keel_docs_out})
install(FILES ${keel_staged}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME keel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(KEEL_PACKAGE_MAINTAINER "The Keel authors <keel@example.com>" CACHE STRING
    "The package's Maintainer field: set it to whoever builds the package for others")
set(CPACK_PACKAGE_CONTACT "${KEEL_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "actor-model agent runtime for one-person companies")
# Lines of at most 80 columns (Debian policy 3.4.1).
set(CPACK_PACKAGE_DESCRIPTION "Keel runs durable workflows, AI agents under policy and budgets,
canonical memory and connectors on one machine, with executors that attach
over CurveZMQ. The package holds keel (node, executor, backups) and keelctl,
the systemd units keel-node and keel-executor@, the config in /etc/keel and
a system user whose state lives in /var/lib/keel.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps, tzdata")  # procps: /bin/kill for ExecReload
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "wordnet-base")  # memory.synonyms reads /usr/share/wordnet
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${keel_pkg}/postinst ${keel_pkg}/prerm ${keel_pkg}/postrm ${keel_staged}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/")
include(CPack)
