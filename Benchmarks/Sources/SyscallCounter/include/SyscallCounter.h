#ifndef SYSCALL_COUNTER_H
#define SYSCALL_COUNTER_H

#include <stdint.h>

/// write(2) and writev(2) calls made by code linked into this executable (SwiftNIO among it) on
/// descriptors that are sockets right now, since the process started.
///
/// The counts are kept per descriptor number and classified when read, so a difference of two
/// readings is exact as long as no socket was closed and its number reused in between.
uint64_t syscall_counter_socket_writes(void);

/// All write(2) and writev(2) calls made through the wrappers, on any descriptor.
uint64_t syscall_counter_all_writes(void);

#endif
