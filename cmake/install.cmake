# install.cmake: what `cmake --install build --prefix P` puts under P
# (GNUInstallDirs paths), included by the top-level CMakeLists.txt:
#   bin/mpicompact, include/mpicompact.h, lib*/libmpicompact.so (SONAME) and
#   libmpicompact.a, lib*/pkgconfig/mpicompact.pc,
#   lib*/cmake/mpicompact/ (mpicompactConfig.cmake, its version file and the
#   exported targets mpicompact::mpicompact and mpicompact::mpicompact_static),
#   share/man/man1/mpicompact.1, share/doc/mpicompact/ (README, docs, jobs).
include(CMakePackageConfigHelpers)

install(TARGETS mpicompact RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mccore mccore_static EXPORT mpicompactTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/mpicompact.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(mc_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/mpicompact)
install(EXPORT mpicompactTargets NAMESPACE mpicompact:: DESTINATION ${mc_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mpicompactConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mpicompactConfig.cmake INSTALL_DESTINATION ${mc_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mpicompactConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpicompactConfig.cmake ${PROJECT_BINARY_DIR}/mpicompactConfigVersion.cmake
  DESTINATION ${mc_cmake_dir})

# pkg-config: the static library needs HDF5 too (Libs.private).
set(mc_pc_private "")
foreach(l ${HDF5_C_LIBRARIES})
  string(APPEND mc_pc_private " ${l}")
endforeach()
string(APPEND mc_pc_private " -lm -pthread")
file(RELATIVE_PATH mc_pc_to_prefix ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" mc_pc_to_prefix "${mc_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mpicompact.pc.in ${PROJECT_BINARY_DIR}/mpicompact.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpicompact.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/docs/mpicompact.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
  FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/jobs)
