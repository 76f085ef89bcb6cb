#ifndef SPKDEBLUR_CZEROMQ_SHIM_H
#define SPKDEBLUR_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
