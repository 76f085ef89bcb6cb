#ifndef SPKDEBLUR_CHDF5_SHIM_H
#define SPKDEBLUR_CHDF5_SHIM_H
#include <hdf5.h>
#include <hdf5_hl.h>
// Static inline wrappers for what Swift cannot import (HDF5's H5T_NATIVE_* and H5P_* are
// macros that expand to global variables after H5open()).
#endif
