// Wraps write(2) and writev(2) for this executable: the definitions here take precedence over
// libc's for every object linked into the executable, SwiftNIO included. Each call is counted
// per descriptor and forwarded to the kernel with syscall(2). Calls glibc makes internally (for
// example eventfd_write) bypass these wrappers; the kernel's syscw counter still sees them.
#define _GNU_SOURCE
#include "SyscallCounter.h"

#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { tracked_descriptors = 4096 };

static _Atomic uint64_t writes_by_descriptor[tracked_descriptors];
static _Atomic uint64_t writes_on_untracked_descriptors;

static void count_write(int descriptor) {
    if (descriptor >= 0 && descriptor < tracked_descriptors) {
        atomic_fetch_add_explicit(&writes_by_descriptor[descriptor], 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&writes_on_untracked_descriptors, 1, memory_order_relaxed);
    }
}

ssize_t write(int descriptor, const void *bytes, size_t count) {
    count_write(descriptor);
    return (ssize_t)syscall(SYS_write, descriptor, bytes, count);
}

ssize_t writev(int descriptor, const struct iovec *vectors, int vector_count) {
    count_write(descriptor);
    return (ssize_t)syscall(SYS_writev, descriptor, vectors, vector_count);
}

uint64_t syscall_counter_socket_writes(void) {
    uint64_t total = 0;
    for (int descriptor = 0; descriptor < tracked_descriptors; descriptor++) {
        uint64_t writes = atomic_load_explicit(&writes_by_descriptor[descriptor], memory_order_relaxed);
        struct stat status;
        if (writes > 0 && fstat(descriptor, &status) == 0 && S_ISSOCK(status.st_mode)) {
            total += writes;
        }
    }
    return total;
}

uint64_t syscall_counter_all_writes(void) {
    uint64_t total = atomic_load_explicit(&writes_on_untracked_descriptors, memory_order_relaxed);
    for (int descriptor = 0; descriptor < tracked_descriptors; descriptor++) {
        total += atomic_load_explicit(&writes_by_descriptor[descriptor], memory_order_relaxed);
    }
    return total;
}
