/* version: mc_version() (include/mpicompact.h). */
#include "mpicompact.h"

#define MC_STR2(x) #x
#define MC_STR(x) MC_STR2(x)

const char *mc_version(void)
{
    return MC_STR(MC_VERSION_MAJOR) "." MC_STR(MC_VERSION_MINOR) "." MC_STR(MC_VERSION_PATCH);
}
