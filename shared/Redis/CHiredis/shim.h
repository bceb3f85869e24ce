#ifndef WEDSYNC_CHIREDIS_SHIM_H
#define WEDSYNC_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
