#ifndef CKEYWAY_SHIMS_H
#define CKEYWAY_SHIMS_H

/// Starts loading the cache line that holds `address` into the caches, without waiting for it: a hint, which never
/// faults and changes no program state (Swift has no prefetch of its own). The node prefetches the keyspace slots
/// of a pipeline's keys before running its commands, so that their cache misses overlap.
static inline __attribute__((always_inline)) void keyway_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
