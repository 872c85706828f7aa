/* sandbox_probe: proves palisade's restrictions from inside the sandbox.
 *
 * Built with `cc -static` by tests/run_common so it runs in any rootfs. One check per
 * invocation; each prints `key=value` lines that the tests parse, and exits 0 unless the
 * check itself could not run. Fields are space- or line-separated. It never decides
 * pass/fail: the Rust tests do.
 *
 *   sandbox_probe mount                  mount(2) a tmpfs on /tmp             -> mount=OK|<ERRNO>
 *   sandbox_probe read PATH              open+read PATH                       -> read=OK bytes=N|<ERRNO>
 *   sandbox_probe write PATH             open(O_WRONLY|O_CREAT)+write PATH    -> write=OK|<ERRNO>
 *   sandbox_probe status                 Cap*, NoNewPrivs, Seccomp lines of /proc/self/status
 *   sandbox_probe socket FAMILY          socket(FAMILY, SOCK_STREAM, 0)       -> socket=OK|<ERRNO>
 *   sandbox_probe ioctl-tiocsti          ioctl(0, TIOCSTI, "x")               -> ioctl=OK|<ERRNO>
 *   sandbox_probe unshare                unshare(CLONE_NEWUSER)               -> unshare=OK|<ERRNO>
 *   sandbox_probe ids                    uid=, euid=, gid=, egid=
 *   sandbox_probe forkbomb               forks until refused (at most 4096)   -> forked=N error=<ERRNO>|none
 *   sandbox_probe alloc MIB              allocates and touches MIB MiB        -> allocated=N (if not killed)
 *   sandbox_probe netdevs                interfaces in /proc/net/dev, and lo's flags
 *   sandbox_probe ptrace PID             ptrace(PTRACE_ATTACH, PID)           -> ptrace=OK|<ERRNO>
 *   sandbox_probe connect IP PORT        TCP connect(IP:PORT)                 -> connect=OK|<ERRNO>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <unistd.h>

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case EIO: return "EIO";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

static int result(const char *key, int ok) {
    if (ok)
        printf("%s=OK\n", key);
    else
        printf("%s=%s\n", key, errname(errno));
    return 0;
}

static int do_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return result("read", 0);
    char buf[4096];
    long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            close(fd);
            return result("read", 0);
        }
        if (n == 0)
            break;
        total += n;
    }
    close(fd);
    printf("read=OK bytes=%ld\n", total);
    return 0;
}

static int do_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return result("write", 0);
    ssize_t n = write(fd, "x", 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return result("write", n == 1);
}

static int do_status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        perror("/proc/self/status");
        return 2;
    }
    char line[256];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp", 7))
            fputs(line, stdout);
    fclose(f);
    return 0;
}

static int do_forkbomb(void) {
    static pid_t children[4096];
    int n = 0;
    int err = 0;
    while (n < 4096) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            err = errno;
            break;
        }
        children[n++] = pid;
    }
    printf("forked=%d error=%s\n", n, err ? errname(err) : "none");
    for (int i = 0; i < n; i++)
        kill(children[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(children[i], NULL, 0);
    return 0;
}

static int do_alloc(long mib) {
    long done = 0;
    for (long i = 0; i < mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            printf("alloc=ENOMEM allocated=%ld\n", done);
            return 0;
        }
        memset(p, 0xa5, 1 << 20); /* touch every page: charged to the memory cgroup */
        done++;
    }
    printf("allocated=%ld\n", done);
    return 0;
}

static int do_netdevs(void) {
    FILE *f = fopen("/proc/net/dev", "r");
    if (!f) {
        printf("netdev=%s\n", errname(errno));
        return 0;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (++lineno <= 2)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        char *name = line;
        while (*name == ' ')
            name++;
        printf("netdev=%s\n", name);
    }
    fclose(f);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return result("lo_flags", 0);
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strcpy(req.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &req) < 0)
        return result("lo_flags", 0);
    printf("lo_up=%s\n", (req.ifr_flags & IFF_UP) ? "yes" : "no");
    close(s);
    return 0;
}

static int do_connect(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return result("socket", 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "sandbox_probe: bad address %s\n", ip);
        return 2;
    }
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    return result("connect", r == 0);
}

static int family(const char *name) {
    if (!strcmp(name, "unix")) return AF_UNIX;
    if (!strcmp(name, "inet")) return AF_INET;
    if (!strcmp(name, "netlink")) return AF_NETLINK;
    if (!strcmp(name, "packet")) return AF_PACKET;
    if (!strcmp(name, "alg")) return 38;
    return atoi(name);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: sandbox_probe CHECK [ARGS]\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "mount"))
        return result("mount", mount("none", "/tmp", "tmpfs", 0, NULL) == 0);
    if (!strcmp(cmd, "read") && argc == 3)
        return do_read(argv[2]);
    if (!strcmp(cmd, "write") && argc == 3)
        return do_write(argv[2]);
    if (!strcmp(cmd, "status"))
        return do_status();
    if (!strcmp(cmd, "socket") && argc == 3) {
        int s = socket(family(argv[2]), SOCK_STREAM | SOCK_CLOEXEC, 0);
        return result("socket", s >= 0);
    }
    if (!strcmp(cmd, "ioctl-tiocsti")) {
        char c = 'x';
        return result("ioctl", ioctl(0, TIOCSTI, &c) == 0);
    }
    if (!strcmp(cmd, "unshare"))
        return result("unshare", unshare(CLONE_NEWUSER) == 0);
    if (!strcmp(cmd, "ids")) {
        printf("uid=%d\neuid=%d\ngid=%d\negid=%d\n", getuid(), geteuid(), getgid(), getegid());
        return 0;
    }
    if (!strcmp(cmd, "forkbomb"))
        return do_forkbomb();
    if (!strcmp(cmd, "alloc") && argc == 3)
        return do_alloc(atol(argv[2]));
    if (!strcmp(cmd, "netdevs"))
        return do_netdevs();
    if (!strcmp(cmd, "ptrace") && argc == 3)
        return result("ptrace", ptrace(PTRACE_ATTACH, atoi(argv[2]), NULL, NULL) == 0);
    if (!strcmp(cmd, "connect") && argc == 4)
        return do_connect(argv[2], atoi(argv[3]));
    fprintf(stderr, "sandbox_probe: unknown check %s\n", cmd);
    return 2;
}
