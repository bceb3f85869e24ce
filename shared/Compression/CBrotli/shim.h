#ifndef WEDSYNC_CBROTLI_SHIM_H
#define WEDSYNC_CBROTLI_SHIM_H
#include <brotli/decode.h>
#include <brotli/encode.h>
#endif
