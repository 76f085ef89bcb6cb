#ifndef SPKDEBLUR_CIMAGECODECS_SHIM_H
#define SPKDEBLUR_CIMAGECODECS_SHIM_H
#include <png.h>
#include <turbojpeg.h>
#endif
