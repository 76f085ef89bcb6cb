#ifndef SPKDEBLUR_CHDF5_SHIM_H
#define SPKDEBLUR_CHDF5_SHIM_H
#include <hdf5.h>
#include <hdf5_hl.h>
// Static inline wrappers for what Swift cannot import: HDF5's H5T_*, H5P_* and H5F_ACC_*
// names are macros that call H5open() and read a global, or casts Swift's importer skips.

// H5P_DEFAULT is a cast macro ((hid_t)0), not imported.
static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
// H5S_ALL is a cast macro ((hid_t)0), not imported.
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
// H5E_DEFAULT is a cast macro ((hid_t)0), not imported.
static inline hid_t chdf5_e_default(void) { return H5E_DEFAULT; }
// H5S_UNLIMITED is a double cast of -1, not imported.
static inline hsize_t chdf5_s_unlimited(void) { return H5S_UNLIMITED; }
// H5T_VARIABLE is a cast of -1, not imported.
static inline size_t chdf5_t_variable(void) { return H5T_VARIABLE; }

// H5F_ACC_* expand to H5CHECK H5OPEN plus a constant, not imported.
static inline unsigned chdf5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
// See chdf5_f_acc_trunc.
static inline unsigned chdf5_f_acc_excl(void) { return H5F_ACC_EXCL; }
// See chdf5_f_acc_trunc.
static inline unsigned chdf5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
// See chdf5_f_acc_trunc.
static inline unsigned chdf5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
// See chdf5_f_acc_trunc.
static inline unsigned chdf5_f_acc_swmr_write(void) { return H5F_ACC_SWMR_WRITE; }
// See chdf5_f_acc_trunc.
static inline unsigned chdf5_f_acc_swmr_read(void) { return H5F_ACC_SWMR_READ; }

// H5P_* class ids are macros reading globals after H5open(), not imported.
static inline hid_t chdf5_p_file_create(void) { return H5P_FILE_CREATE; }
// See chdf5_p_file_create.
static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }
// See chdf5_p_file_create.
static inline hid_t chdf5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
// See chdf5_p_file_create.
static inline hid_t chdf5_p_dataset_access(void) { return H5P_DATASET_ACCESS; }
// See chdf5_p_file_create.
static inline hid_t chdf5_p_link_create(void) { return H5P_LINK_CREATE; }

// H5T_NATIVE_* and H5T_STD/IEEE/C_S1 ids are macros reading globals after H5open().
static inline hid_t chdf5_t_native_uint8(void) { return H5T_NATIVE_UINT8; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_native_uint16(void) { return H5T_NATIVE_UINT16; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_native_int64(void) { return H5T_NATIVE_INT64; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_native_uint64(void) { return H5T_NATIVE_UINT64; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_native_float(void) { return H5T_NATIVE_FLOAT; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_native_double(void) { return H5T_NATIVE_DOUBLE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_std_u8le(void) { return H5T_STD_U8LE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_std_u16le(void) { return H5T_STD_U16LE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_std_i64le(void) { return H5T_STD_I64LE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
// See chdf5_t_native_uint8.
static inline hid_t chdf5_t_c_s1(void) { return H5T_C_S1; }
// H5F_LIBVER_LATEST is a macro alias of an enumerator, not imported.
static inline H5F_libver_t chdf5_f_libver_latest(void) { return H5F_LIBVER_LATEST; }
#endif
