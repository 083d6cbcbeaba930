/* h5version: the HDF5 library the process runs with, for --version and
 * reports (only segment-format files include <hdf5.h>). */
#ifndef MC_H5VERSION_H
#define MC_H5VERSION_H

#include <stddef.h>

/* "1.10.8" into OUT (LEN bytes): the version of the HDF5 library loaded at
 * run time, which may differ from the headers built against. */
void mc_hdf5_version(char *out, size_t len);
/* Whether that HDF5 was built with MPI-IO (parallel). */
int mc_hdf5_is_parallel(void);

#endif
