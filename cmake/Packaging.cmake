# `cmake --install` and `cpack -G DEB`: the binaries, the page, man pages made from each
# binary's own --help (help2man), the systemd units and the commented sample configuration.
# Configuration and units go where Debian keeps them (/etc/wzp, /lib/systemd/system) whatever
# the prefix; stage an install with DESTDIR=DIR cmake --install BUILD.
include(GNUInstallDirs)

set(WZP_APPS wzp-relay wzp-client wzp-web wzp-netem wzp-bench)
install(TARGETS ${WZP_APPS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/wzp/web)
set(WZP_RNNOISE ${PROJECT_SOURCE_DIR}/node_modules/@shiguredo/rnnoise-wasm/dist/rnnoise.js)
if(EXISTS ${WZP_RNNOISE})
  install(FILES ${WZP_RNNOISE} DESTINATION ${CMAKE_INSTALL_DATADIR}/wzp/vendor)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/deploy/relay.toml ${PROJECT_SOURCE_DIR}/deploy/web.env
        DESTINATION /etc/wzp)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/wzp-relay.service ${PROJECT_SOURCE_DIR}/deploy/wzp-web.service
        DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/sysctl/60-wzp-relay.conf DESTINATION /usr/lib/sysctl.d)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
              ${PROJECT_SOURCE_DIR}/docs/SECURITY.md ${PROJECT_SOURCE_DIR}/docs/TELEMETRY.md
              ${PROJECT_SOURCE_DIR}/deploy/prometheus.yml ${PROJECT_SOURCE_DIR}/deploy/grafana-dashboard.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# One man page per binary, from its --help and --version, with what help cannot say.
find_program(HELP2MAN help2man REQUIRED)
set(WZP_MAN_wzp-relay "relay for WarzonePhone calls: SFU rooms over QUIC")
set(WZP_MAN_wzp-client "WarzonePhone call client: rooms, direct calls, measurements")
set(WZP_MAN_wzp-web "WarzonePhone browser bridge: the call page over HTTPS and WebSocket")
set(WZP_MAN_wzp-netem "impairment proxy for UDP: loss, bursts, delay, jitter, rate, outages")
set(WZP_MAN_wzp-bench "WarzonePhone benchmarks: components and whole calls")
foreach(app ${WZP_APPS})
  set(page ${CMAKE_BINARY_DIR}/man/${app}.1)
  add_custom_command(OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section 1 --name "${WZP_MAN_${app}}"
            --include ${PROJECT_SOURCE_DIR}/deploy/man-common.h2m --output ${page} $<TARGET_FILE:${app}>
    COMMAND gzip -9nf ${page}
    DEPENDS ${app} ${PROJECT_SOURCE_DIR}/deploy/man-common.h2m
    COMMENT "man page for ${app}" VERBATIM)
  list(APPEND WZP_MAN_PAGES ${page}.gz)
endforeach()
add_custom_target(man-pages ALL DEPENDS ${WZP_MAN_PAGES})
install(FILES ${WZP_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wzp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "WarzonePhone developers <wzp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "voice calls that keep working on hostile networks")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps: the libraries the binaries link
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
