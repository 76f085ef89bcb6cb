#ifndef SPKDEBLUR_COPENBLAS_SHIM_H
#define SPKDEBLUR_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
