/*
 * errno-inject: run a program in which one system call always fails with a chosen errno.
 *
 *   errno-inject <syscall-name> <errno-number> -- <program> [args...]
 *
 * Sets PR_SET_NO_NEW_PRIVS (so no privilege is needed), installs a seccomp BPF filter that
 * makes <syscall-name> return -1 with errno = <errno-number> without reaching the kernel's
 * implementation, then execvp(3)s the program. The filter is inherited by every thread and
 * child of the program. Tests use it to see how the layers above react to errnos a loopback
 * kernel will not produce on demand (EADDRINUSE, EPERM, ENOBUFS from connect(2), ...).
 *
 * Linux only (x86_64 and aarch64). Does not handle: filtering by argument (every call of that
 * syscall fails, in every thread), socketcall(2) multiplexing (no 64-bit ABI uses it), or the
 * x32 ABI (its calls are allowed through).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define EI_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define EI_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "errno-inject supports x86_64 and aarch64"
#endif

struct named_syscall {
  const char* name;
  long nr;
};

#define EI_SYSCALL(name) {#name, SYS_##name}
static const struct named_syscall syscalls[] = {
    EI_SYSCALL(socket),     EI_SYSCALL(socketpair),  EI_SYSCALL(bind),
    EI_SYSCALL(connect),    EI_SYSCALL(listen),      EI_SYSCALL(accept),
    EI_SYSCALL(accept4),    EI_SYSCALL(getsockname), EI_SYSCALL(getpeername),
    EI_SYSCALL(getsockopt), EI_SYSCALL(setsockopt),  EI_SYSCALL(sendto),
    EI_SYSCALL(recvfrom),   EI_SYSCALL(sendmsg),     EI_SYSCALL(recvmsg),
    EI_SYSCALL(shutdown),   EI_SYSCALL(close),
};
#undef EI_SYSCALL

static void usage(void) {
  fprintf(stderr,
          "usage: errno-inject <syscall-name> <errno-number> -- <program> [args...]\n"
          "syscalls:");
  for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
    fprintf(stderr, " %s", syscalls[i].name);
  }
  fprintf(stderr, "\n");
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) usage();

  long nr = -1;
  for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
    if (strcmp(argv[1], syscalls[i].name) == 0) nr = syscalls[i].nr;
  }
  if (nr < 0) {
    fprintf(stderr, "errno-inject: unknown syscall '%s'\n", argv[1]);
    usage();
  }
  char* end = NULL;
  long err = strtol(argv[2], &end, 10);
  if (end == argv[2] || *end != 0 || err < 1 || err > 4095) {
    fprintf(stderr, "errno-inject: errno must be a number in 1..4095, got '%s'\n", argv[2]);
    usage();
  }

  struct sock_filter filter[] = {
      /* A foreign architecture's syscall numbers mean something else: let them through. */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EI_AUDIT_ARCH, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned int)err & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {
      .len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
      .filter = filter,
  };

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("errno-inject: prctl(PR_SET_NO_NEW_PRIVS)");
    return 126;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    perror("errno-inject: prctl(PR_SET_SECCOMP)");
    return 126;
  }
  execvp(argv[4], &argv[4]);
  fprintf(stderr, "errno-inject: execvp(%s): %s\n", argv[4], strerror(errno));
  return 127;
}
