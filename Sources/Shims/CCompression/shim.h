#ifndef SPKDEBLUR_CCOMPRESSION_SHIM_H
#define SPKDEBLUR_CCOMPRESSION_SHIM_H
#include <zlib.h>
#include <lz4.h>
#endif
