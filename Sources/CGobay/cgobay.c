#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <unistd.h>

#include "cgobay.h"

int cgobay_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cgobay_file_identity(int fd, struct cgobay_file_identity *identity) {
    struct statx info;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_SIZE | STATX_BTIME, &info) != 0) return -1;
    if ((info.stx_mask & (STATX_INO | STATX_BTIME)) != (STATX_INO | STATX_BTIME)) return -1;
    identity->device = ((unsigned long long)info.stx_dev_major << 32) | info.stx_dev_minor;
    identity->inode = info.stx_ino;
    identity->birth_seconds = info.stx_btime.tv_sec;
    identity->birth_nanoseconds = info.stx_btime.tv_nsec;
    identity->size = (long long)info.stx_size;
    return 0;
}

int cgobay_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cgobay_open_beneath(int dirfd, const char *relative, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, relative, &how, sizeof how);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return fd < 0 ? -errno : (int)fd;
}

int cgobay_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

void cgobay_close_from(int first) { syscall(SYS_close_range, (unsigned)first, ~0U, 0); }

/* The child after clone: only raw system calls from here on (the parent may have many threads,
   whose locks the copy of its memory holds). Reports a failure as an errno on `report`. */
static void child(const struct cgobay_spawn_request *r, int report) {
    int err = 0;
    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* glibc's sigaction and sigprocmask wrap the system calls without taking locks. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (r->new_session) {
        if (syscall(SYS_setsid) < 0) goto fail;
    } else if (syscall(SYS_setpgid, 0, 0) < 0) {
        goto fail;
    }

    /* Move every source above the targets first, so no dup2 overwrites a later source. */
    int high[64];
    int count = r->fd_count > 64 ? 64 : r->fd_count;
    for (int i = 0; i < count; i++) {
        high[i] = (int)syscall(SYS_fcntl, r->fds[i], F_DUPFD, 64 + count);
        if (high[i] < 0) goto fail;
    }
    for (int i = 0; i < count; i++) {
        if (syscall(SYS_dup2, high[i], i) < 0) goto fail;
    }
    /* Everything else closes, close-on-exec or not, except the report pipe (it is close-on-exec). */
    int keep_report = (int)syscall(SYS_fcntl, report, F_DUPFD_CLOEXEC, 64 + 2 * count + 1);
    if (keep_report < 0) goto fail;
    report = keep_report;
    if (count < report) syscall(SYS_close_range, (unsigned)count, (unsigned)(report - 1), 0);
    syscall(SYS_close_range, (unsigned)(report + 1), ~0U, 0);

    if (r->cwd && syscall(SYS_chdir, r->cwd) < 0) goto fail;
    if (r->set_ids) {
        if (syscall(SYS_setgroups, 0, NULL) < 0) goto fail;
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0) goto fail;
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0) goto fail;
    }
    if (r->no_new_privs && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
    syscall(SYS_execve, r->path, r->argv, r->envp);
fail:
    err = errno;
    syscall(SYS_write, report, &err, sizeof err);
    syscall(SYS_exit_group, 127);
}

static int spawn_started(long child_pid, int child_pidfd, int report_read, pid_t *pid, int *pidfd);

/* What the child of a CLONE_VM spawn starts with, on its own stack. */
struct child_start {
    const struct cgobay_spawn_request *request;
    int report_read;
    int report_write;
};

static int child_entry(void *arg) {
    const struct child_start *start = arg;
    syscall(SYS_close, start->report_read);
    child(start->request, start->report_write);
    return 127;
}

/* A spawn that shares this process's memory until the child execs (vfork, as posix_spawn does):
   no page tables copied, none torn down at the exec, no copy-on-write faults after, which a
   server of tens of megabytes pays for every git it runs. All signals are blocked around the
   clone, so no handler of this process runs in the child before it has reset them; the child
   writes nothing of the shared memory but its own stack (and errno, whose thread waits). Not
   for a cgroup: clone(2) cannot place a child in one as it starts. */
static long spawn_sharing_memory(const struct cgobay_spawn_request *r, int report[2], int *child_pidfd) {
    const size_t stack_size = 64 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    struct child_start start = {r, report[0], report[1]};
    long child_pid = clone(child_entry, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                           &start, child_pidfd);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, stack_size);
    errno = saved;
    return child_pid;
}

/* A spawn into the cgroup `r->cgroup_fd` as the child starts (clone3's CLONE_INTO_CGROUP): a step
   is never outside its cgroup, not even for the time a move would take. The child gets a copy of
   this process's memory (no CLONE_VM: clone3 would need a stack of its own set up in assembly). */
static long spawn_into_cgroup(const struct cgobay_spawn_request *r, int report[2], int *child_pidfd) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP;
    args.pidfd = (unsigned long long)(uintptr_t)child_pidfd;
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned long long)r->cgroup_fd;
    long child_pid = syscall(SYS_clone3, &args, sizeof args);
    if (child_pid == 0) {
        close(report[0]);
        child(r, report[1]);
    }
    return child_pid;
}

int cgobay_spawn(const struct cgobay_spawn_request *r, pid_t *pid, int *pidfd) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    int child_pidfd = -1;
    long child_pid = r->cgroup_fd < 0 ? spawn_sharing_memory(r, report, &child_pidfd)
                                      : spawn_into_cgroup(r, report, &child_pidfd);
    int saved = errno;
    close(report[1]);
    if (child_pid < 0) {
        close(report[0]);
        return saved;
    }
    return spawn_started(child_pid, child_pidfd, report[0], pid, pidfd);
}

/* After the clone: reads the child's report (an errno if it could not exec, nothing if it did). */
static int spawn_started(long child_pid, int child_pidfd, int report_read, pid_t *pid, int *pidfd) {
    /* A kernel that made no pidfd at the clone: it is opened after the fact, which is safe because
       the child is not reaped before we wait for it. */
    if (child_pidfd < 0) child_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)child_pid, 0);
    int err = 0;
    ssize_t n;
    do {
        n = read(report_read, &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    close(report_read);
    if (n == (ssize_t)sizeof err) {
        int status;
        while (waitpid((pid_t)child_pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (child_pidfd >= 0) close(child_pidfd);
        return err ? err : EIO;
    }
    if (child_pidfd < 0) {
        /* No pidfd at all (a kernel before 5.3): the child cannot be waited for without polling. */
        int saved_errno = errno;
        kill((pid_t)child_pid, SIGKILL);
        int status;
        while (waitpid((pid_t)child_pid, &status, 0) < 0 && errno == EINTR) {
        }
        return saved_errno ? saved_errno : ENOSYS;
    }
    *pid = (pid_t)child_pid;
    *pidfd = child_pidfd;
    return 0;
}

int cgobay_pidfd_open(pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int cgobay_pidfd_reap(int pidfd) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do {
        rc = (int)syscall(SYS_waitid, 3 /* P_PIDFD */, pidfd, &info, WEXITED | WNOHANG, NULL);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    if (info.si_pid == 0) return -EAGAIN;
    if (info.si_code == CLD_EXITED) return info.si_status & 0xff;
    return 128 + info.si_status;
}

int cgobay_pidfd_kill(int pidfd, int sig) {
    int rc = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return rc < 0 ? -errno : 0;
}

int cgobay_seccomp_filter_fd(void) {
    static const char *denied[] = {
        /* Reading files by handle escapes every mount namespace (the "shocker" attack). */
        "open_by_handle_at", "name_to_handle_at",
        /* Mounts and namespaces. */
        "mount", "umount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
        "fspick", "mount_setattr", "unshare", "setns", "chroot",
        /* The kernel itself. */
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module", "reboot",
        "swapon", "swapoff", "syslog", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
        "iopl", "ioperm", "quotactl", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "vhangup",
        "lookup_dcookie", "bpf", "perf_event_open", "userfaultfd", "fanotify_init",
        /* Other processes and keys. */
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "keyctl", "add_key",
        "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register",
    };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return -ENOMEM;
    int rc = 0;
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        /* 32-bit system calls would otherwise pass a filter written for 64-bit ones. */
        seccomp_arch_add(ctx, SCMP_ARCH_X86);
        seccomp_arch_add(ctx, SCMP_ARCH_X32);
    }
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR) continue;
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    /* clone3 cannot be filtered by its flags: ENOSYS makes libcs fall back to clone, whose
       namespace flags are filtered below. */
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
    /* Typing into the terminal of whoever runs gobay. */
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
    int fd = memfd_create("gobay-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
    } else if ((rc = seccomp_export_bpf(ctx, fd)) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        if (rc == 0) rc = -errno;
        close(fd);
        fd = -1;
    }
    seccomp_release(ctx);
    return fd >= 0 ? fd : rc;
}

int cgobay_rename_exchange(const char *a, const char *b) {
    if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0) return -errno;
    return 0;
}

int cgobay_rename_exchange_at(int dirfd, const char *a, const char *b) {
    if (renameat2(dirfd, a, dirfd, b, RENAME_EXCHANGE) != 0) return -errno;
    return 0;
}

int cgobay_copy_file(const char *from, const char *to, unsigned int mode) {
    return cgobay_copy_file_at(AT_FDCWD, from, AT_FDCWD, to, mode);
}

int cgobay_copy_file_at(int fromdir, const char *from, int todir, const char *to, unsigned int mode) {
    int in = openat(fromdir, from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return -errno;
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        int error = errno ? errno : EINVAL;
        close(in);
        return -error;
    }
    int out = openat(todir, to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
    if (out < 0) {
        int error = errno;
        close(in);
        return -error;
    }
    int result = 0;
    if (ioctl(out, FICLONE, in) != 0) {
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { result = -errno; break; }
            if (n == 0) break;
            left -= n;
        }
    }
    if (result == 0 && fchmod(out, mode & 07777) != 0) result = -errno;
    close(in);
    if (close(out) != 0 && result == 0) result = -errno;
    if (result != 0) unlinkat(todir, to, 0);
    return result;
}

int cgobay_open_path(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int cgobay_fchown_fd(int fd, unsigned int uid, unsigned int gid) {
    return fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH);
}
