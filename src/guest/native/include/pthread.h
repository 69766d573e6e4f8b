/* Cohesix guest: the guest is single-threaded; wasm-rt.h only names a mutex type for shared
 * memories, which Porffor modules never use. No-op definitions keep it compiling freestanding. */
#ifndef COH_PTHREAD_SHIM_H
#define COH_PTHREAD_SHIM_H
typedef int pthread_mutex_t;
static inline int pthread_mutex_init(pthread_mutex_t* m, const void* attr) { (void)attr; *m = 0; return 0; }
static inline int pthread_mutex_destroy(pthread_mutex_t* m) { (void)m; return 0; }
static inline int pthread_mutex_lock(pthread_mutex_t* m) { (void)m; return 0; }
static inline int pthread_mutex_unlock(pthread_mutex_t* m) { (void)m; return 0; }
#endif
