#ifndef WEDSYNC_CLIBPQ_SHIM_H
#define WEDSYNC_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
