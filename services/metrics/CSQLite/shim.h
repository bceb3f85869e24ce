#ifndef WEDSYNC_CSQLITE_SHIM_H
#define WEDSYNC_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
