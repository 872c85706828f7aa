/* probe: runs a few syscalls inside a container and prints what the kernel answered, so an
 * integration test can prove from the inside which syscalls the container's seccomp filter
 * (and capabilities) refuse.
 *
 * Usage: probe syscall NAME [NAME...]
 * Prints one line per NAME: "NAME ok" or "NAME errno=N". Each syscall runs in a forked child
 * so that one probe (unshare, ptrace) cannot change the state the next one sees.
 * Exit status: 0 when every NAME was known, 2 on a usage error.
 *
 * Built static (`cc -static -O2`) so the busybox rootfs needs no libc. Raw syscall(2) is used
 * throughout: libc wrappers may refuse arguments before the kernel (and seccomp) sees them,
 * or pick a different syscall (glibc's fork uses clone, not clone3). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* Each returns the raw syscall result; -1 with errno on failure. */
static long do_reboot(void) {
    /* Bad magic numbers: even with CAP_SYS_BOOT the kernel only returns EINVAL. */
    return syscall(SYS_reboot, 0, 0, 0, NULL);
}
static long do_unshare_user(void) { return syscall(SYS_unshare, CLONE_NEWUSER); }
static long do_socket_alg(void) { return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0); }
static long do_socket_inet(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }
static long do_socket_highbit(void) {
    /* The kernel reads the family as an int: 38 | 1<<32 is AF_ALG to it, while a filter that
     * compares all 64 bits sees a family that is not 38. */
    return syscall(SYS_socket, (unsigned long)AF_ALG | (1UL << 32), SOCK_SEQPACKET, 0);
}
static long do_keyctl(void) {
    /* KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_SESSION_KEYRING (-3), without creating it. */
    return syscall(SYS_keyctl, 0, -3, 0, 0, 0);
}
static long do_bpf(void) {
    /* BPF_MAP_CREATE (0) with a NULL attribute: EFAULT if the filter lets it through. */
    return syscall(SYS_bpf, 0, NULL, 0);
}
static long do_ptrace(void) { return syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0); }
static long do_personality(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long do_clone3(void) {
    /* A NULL, zero-sized clone_args: EINVAL from the kernel; ENOSYS only from a filter. */
    return syscall(SYS_clone3, NULL, 0);
}

static const struct probe {
    const char *name;
    long (*run)(void);
} PROBES[] = {
    {"reboot", do_reboot},
    {"unshare_user", do_unshare_user},
    {"socket_alg", do_socket_alg},
    {"socket_inet", do_socket_inet},
    {"socket_highbit", do_socket_highbit},
    {"keyctl", do_keyctl},
    {"bpf", do_bpf},
    {"ptrace", do_ptrace},
    {"personality", do_personality},
    {"clone3", do_clone3},
};

/* Runs one probe in a child and returns its result: 0 for success, else the errno. */
static int run_isolated(const struct probe *p) {
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        errno = 0;
        long r = p->run();
        int result = r < 0 ? errno : 0;
        if (write(fds[1], &result, sizeof result) != sizeof result) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    int result = -1;
    ssize_t n = read(fds[0], &result, sizeof result);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (n != sizeof result) {
        /* The child died before reporting: a kill action or a trap. */
        if (WIFSIGNALED(status)) return -1000 - WTERMSIG(status);
        return -1;
    }
    return result;
}

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "syscall") != 0) {
        fprintf(stderr, "usage: %s syscall NAME [NAME...]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int status = 0;
    for (int i = 2; i < argc; i++) {
        const struct probe *found = NULL;
        for (size_t j = 0; j < sizeof PROBES / sizeof PROBES[0]; j++)
            if (strcmp(PROBES[j].name, argv[i]) == 0) found = &PROBES[j];
        if (!found) {
            fprintf(stderr, "unknown probe `%s`\n", argv[i]);
            status = 2;
            continue;
        }
        int r = run_isolated(found);
        if (r == 0)
            printf("%s ok\n", found->name);
        else if (r <= -1000)
            printf("%s signal=%d\n", found->name, -(r + 1000));
        else if (r < 0)
            printf("%s failed\n", found->name);
        else
            printf("%s errno=%d\n", found->name, r);
    }
    return status;
}
