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

// A wake-up a socket owner polls beside its sockets (see ZeroMQ.Wakeup): an eventfd, written
// from any thread. Returns -1 (errno set) when the kernel refuses.
#include <sys/eventfd.h>
#include <unistd.h>
static inline int CZeroMQ_wakeup_open(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void CZeroMQ_wakeup_signal(int fd) {
    uint64_t one = 1;
    ssize_t rc = write(fd, &one, sizeof one);
    (void)rc;  // EAGAIN: the counter is already non-zero, so the owner wakes anyway.
}
static inline void CZeroMQ_wakeup_drain(int fd) {
    uint64_t count;
    ssize_t rc = read(fd, &count, sizeof count);
    (void)rc;  // EAGAIN: nothing was signalled.
}
static inline void CZeroMQ_wakeup_close(int fd) { close(fd); }
#endif
