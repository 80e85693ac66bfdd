// Lets the addon built on Debian 12 (glibc 2.36) load on glibc 2.28 (RHEL/Rocky 8): every
// reference that would need a symbol version newer than GLIBC_2.28 is redirected here, by the
// linker's --wrap (binding.gyp lists the symbols), so it also covers the references inside the
// statically linked libstdc++ and libgcc. test/package-prebuild.test.ts checks that no newer
// version is left in the prebuild.
//
// Two kinds of redirect:
// - functions that moved into libc in 2.34 (libpthread, libdl) call their GLIBC_2.2.5 version,
//   which 2.34+ keeps in libc and which older glibc has in libpthread/libdl (loaded by Node);
// - functions that do not exist in 2.28 (stat64 & co. as functions, pthread_cond_clockwait,
//   arc4random, _dl_find_object) are implemented with what 2.28 has.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// libstdc++ reads this (glibc 2.32+) to skip atomics in single-threaded processes. Defining it
// here keeps the reference inside the addon; 0 ("maybe threaded") is always correct, and Node
// runs threads anyway.
extern "C" {
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
}

#define CRFTB_OLD(ret, name, version, params) \
  extern "C" ret crftb_old_##name params;     \
  __asm__(".symver crftb_old_" #name ", " #name "@" version);

CRFTB_OLD(int, pthread_create, "GLIBC_2.2.5", (pthread_t*, const pthread_attr_t*, void* (*)(void*), void*))
CRFTB_OLD(int, pthread_join, "GLIBC_2.2.5", (pthread_t, void**))
CRFTB_OLD(int, pthread_detach, "GLIBC_2.2.5", (pthread_t))
CRFTB_OLD(int, pthread_once, "GLIBC_2.2.5", (pthread_once_t*, void (*)(void)))
CRFTB_OLD(int, pthread_key_create, "GLIBC_2.2.5", (pthread_key_t*, void (*)(void*)))
CRFTB_OLD(int, pthread_key_delete, "GLIBC_2.2.5", (pthread_key_t))
CRFTB_OLD(void*, pthread_getspecific, "GLIBC_2.2.5", (pthread_key_t))
CRFTB_OLD(int, pthread_setspecific, "GLIBC_2.2.5", (pthread_key_t, const void*))
CRFTB_OLD(void*, dlopen, "GLIBC_2.2.5", (const char*, int))
CRFTB_OLD(void*, dlsym, "GLIBC_2.2.5", (void*, const char*))
CRFTB_OLD(int, dlclose, "GLIBC_2.2.5", (void*))
CRFTB_OLD(char*, dlerror, "GLIBC_2.2.5", (void))
CRFTB_OLD(int, dlinfo, "GLIBC_2.3.3", (void*, int, void*))
CRFTB_OLD(int, __xstat64, "GLIBC_2.2.5", (int, const char*, struct stat64*))
CRFTB_OLD(int, __lxstat64, "GLIBC_2.2.5", (int, const char*, struct stat64*))
CRFTB_OLD(int, __fxstat64, "GLIBC_2.2.5", (int, int, struct stat64*))
CRFTB_OLD(int, __fxstatat64, "GLIBC_2.4", (int, int, const char*, struct stat64*, int))

namespace {
constexpr int kStatVer = 1;  // _STAT_VER_LINUX on x86_64, what the pre-2.33 inline stat() passed
}

extern "C" {

int __wrap_pthread_create(pthread_t* t, const pthread_attr_t* a, void* (*f)(void*), void* arg) {
  return crftb_old_pthread_create(t, a, f, arg);
}
int __wrap_pthread_join(pthread_t t, void** r) { return crftb_old_pthread_join(t, r); }
int __wrap_pthread_detach(pthread_t t) { return crftb_old_pthread_detach(t); }
int __wrap_pthread_once(pthread_once_t* o, void (*f)(void)) { return crftb_old_pthread_once(o, f); }
int __wrap_pthread_key_create(pthread_key_t* k, void (*d)(void*)) { return crftb_old_pthread_key_create(k, d); }
// libstdc++ takes this weak symbol's address to learn whether threads are available: they are.
int __wrap___pthread_key_create(pthread_key_t* k, void (*d)(void*)) { return crftb_old_pthread_key_create(k, d); }
int __wrap_pthread_key_delete(pthread_key_t k) { return crftb_old_pthread_key_delete(k); }
void* __wrap_pthread_getspecific(pthread_key_t k) { return crftb_old_pthread_getspecific(k); }
int __wrap_pthread_setspecific(pthread_key_t k, const void* v) { return crftb_old_pthread_setspecific(k, v); }

void* __wrap_dlopen(const char* file, int mode) { return crftb_old_dlopen(file, mode); }
void* __wrap_dlsym(void* handle, const char* name) { return crftb_old_dlsym(handle, name); }
int __wrap_dlclose(void* handle) { return crftb_old_dlclose(handle); }
char* __wrap_dlerror(void) { return crftb_old_dlerror(); }
int __wrap_dlinfo(void* handle, int request, void* arg) { return crftb_old_dlinfo(handle, request, arg); }

int __wrap_stat64(const char* path, struct stat64* st) { return crftb_old___xstat64(kStatVer, path, st); }
int __wrap_lstat64(const char* path, struct stat64* st) { return crftb_old___lxstat64(kStatVer, path, st); }
int __wrap_fstat64(int fd, struct stat64* st) { return crftb_old___fxstat64(kStatVer, fd, st); }
int __wrap_fstatat64(int dirfd, const char* path, struct stat64* st, int flags) {
  return crftb_old___fxstatat64(kStatVer, dirfd, path, st, flags);
}

// std::condition_variable waits on the steady clock with pthread_cond_clockwait (2.30+). Before
// it, a wait had to be expressed against the condition variable's clock (CLOCK_REALTIME by
// default): the remaining time is carried over, so a wall-clock step during the wait shifts
// the deadline, as it did for every program on those systems.
int __wrap_pthread_cond_clockwait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
                                  const struct timespec* abstime) {
  if (clock == CLOCK_REALTIME) return pthread_cond_timedwait(cond, mutex, abstime);
  struct timespec now, real, deadline;
  clock_gettime(clock, &now);
  clock_gettime(CLOCK_REALTIME, &real);
  long long left_ns = (abstime->tv_sec - now.tv_sec) * 1000000000LL + (abstime->tv_nsec - now.tv_nsec);
  if (left_ns < 0) left_ns = 0;
  long long at_ns = real.tv_nsec + left_ns % 1000000000LL;
  deadline.tv_sec = real.tv_sec + left_ns / 1000000000LL + at_ns / 1000000000LL;
  deadline.tv_nsec = at_ns % 1000000000LL;
  return pthread_cond_timedwait(cond, mutex, &deadline);
}

// std::random_device (2.36's arc4random): the kernel's generator, as arc4random itself uses.
uint32_t __wrap_arc4random(void) {
  uint32_t value = 0;
  unsigned char* at = reinterpret_cast<unsigned char*>(&value);
  size_t got = 0;
  while (got < sizeof value) {
    ssize_t n = getrandom(at + got, sizeof value - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
    else if (n < 0 && errno != EINTR)
      break;  // cannot happen on Linux ≥ 3.17 with these flags
  }
  return value;
}

// libgcc's unwinder finds the unwind tables of the code a C++ exception passes through with
// _dl_find_object (2.35+). Before it, libgcc walked the loaded objects with dl_iterate_phdr; so
// does this, answering with the fields the unwinder reads (map bounds and PT_GNU_EH_FRAME).
struct FindObject {
  uintptr_t pc;
  struct dl_find_object* out;
  bool found;
};

int __wrap__dl_find_object(void* pc, struct dl_find_object* out) {
  FindObject search{reinterpret_cast<uintptr_t>(pc), out, false};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) -> int {
        auto* s = static_cast<FindObject*>(data);
        uintptr_t low = UINTPTR_MAX, high = 0;
        bool contains = false;
        const void* eh_frame = nullptr;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD) {
            if (start < low) low = start;
            if (start + ph.p_memsz > high) high = start + ph.p_memsz;
            if (s->pc >= start && s->pc < start + ph.p_memsz) contains = true;
          } else if (ph.p_type == PT_GNU_EH_FRAME) {
            eh_frame = reinterpret_cast<const void*>(start);
          }
        }
        if (!contains) return 0;
        memset(s->out, 0, sizeof *s->out);
        s->out->dlfo_map_start = reinterpret_cast<void*>(low);
        s->out->dlfo_map_end = reinterpret_cast<void*>(high);
        s->out->dlfo_eh_frame = const_cast<void*>(eh_frame);
        s->found = true;
        return 1;
      },
      &search);
  return search.found ? 0 : -1;
}

}  // extern "C"
