#ifndef SPKDEBLUR_CZEROMQ_SHIM_H
#define SPKDEBLUR_CZEROMQ_SHIM_H
#include <errno.h>
#include <zmq.h>

// ETERM is a macro expression (ZMQ_HAUSNUMERO + 53) that Swift does not import.
static inline int CZeroMQ_ETERM(void) { return ETERM; }
// EAGAIN/EINTR come from errno.h; exposing them here keeps the wrapper free of Glibc.
static inline int CZeroMQ_EAGAIN(void) { return EAGAIN; }
// See above.
static inline int CZeroMQ_EINTR(void) { return EINTR; }
#endif
