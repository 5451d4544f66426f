#ifndef CGOBAY_H
#define CGOBAY_H

#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/types.h>

/// pipe2(fds, O_CLOEXEC): both ends close on exec, with no window for another thread's spawn.
int cgobay_pipe_cloexec(int fds[2]);

/// Which file an open descriptor is: its device, inode, birth time and size (statx). Returns 0,
/// or -1 when the file system keeps no birth time (or statx fails).
struct cgobay_file_identity {
    unsigned long long device;
    unsigned long long inode;
    long long birth_seconds;
    unsigned int birth_nanoseconds;
    long long size;
};
int cgobay_file_identity(int fd, struct cgobay_file_identity *identity);

/// posix_spawn_file_actions_addchdir_np, which glibc declares only under _GNU_SOURCE.
int cgobay_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// What a child started by cgobay_spawn gets.
struct cgobay_spawn_request {
    /// The executable's path, argv and envp (NULL-terminated).
    const char *path;
    char *const *argv;
    char *const *envp;
    /// The working directory, or NULL.
    const char *cwd;
    /// Descriptors that become the child's 0, 1, 2, then 3, 4, ... (keep_count of them, in order).
    /// Every other descriptor is closed in the child, whatever its close-on-exec flag says.
    const int *fds;
    int fd_count;
    /// An open cgroup v2 directory the child starts in (CLONE_INTO_CGROUP), or -1.
    int cgroup_fd;
    /// When set_ids: the child drops supplementary groups and runs as uid:gid.
    int set_ids;
    uid_t uid;
    gid_t gid;
    /// Set PR_SET_NO_NEW_PRIVS in the child.
    int no_new_privs;
    /// Start a new session (setsid) instead of only a new process group.
    int new_session;
};

/// Starts a child as the request says: its own process group (or session), default signal
/// dispositions and an empty mask, only the given descriptors, optionally in a cgroup and as
/// another user. Returns 0 and sets *pid and *pidfd (CLONE_PIDFD: a close-on-exec descriptor that
/// becomes readable when the child exits), or returns an errno value (from the parent or the child).
int cgobay_spawn(const struct cgobay_spawn_request *request, pid_t *pid, int *pidfd);

/// pidfd_open(pid, 0): a descriptor that becomes readable when `pid` exits; or -errno.
int cgobay_pidfd_open(pid_t pid);

/// Reaps the exited child of `pidfd` without blocking (waitid P_PIDFD, WNOHANG). Returns its exit
/// status, or 128+signal when a signal killed it; -EAGAIN when it has not exited; or -errno.
int cgobay_pidfd_reap(int pidfd);

/// pidfd_send_signal: signals exactly that process, never a later one with a reused pid; 0 or -errno.
int cgobay_pidfd_kill(int pidfd, int sig);

/// Sets PR_SET_NO_NEW_PRIVS on the calling process; returns 0 or -1.
int cgobay_no_new_privs(void);

/// Closes every descriptor from `first` on (before an exec that replaces gobay).
void cgobay_close_from(int first);

/// Writes a seccomp filter (BPF) that denies the usual sandbox-escape system calls with EPERM
/// into a new memory file; returns its descriptor (close-on-exec, at offset 0), or -errno.
int cgobay_seccomp_filter_fd(void);

/// Opens `relative` below the directory `dirfd` with openat2, refusing any symbolic link on the
/// way and any path that leaves the directory. Returns the descriptor or -errno.
int cgobay_open_beneath(int dirfd, const char *relative, int flags);

/// renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE): swaps two existing paths in one step,
/// so a reader finds either the old tree or the new one, never neither. 0 or -errno.
int cgobay_rename_exchange(const char *a, const char *b);
/// renameat2(dirfd, a, dirfd, b, RENAME_EXCHANGE): the same, for two entries of one open directory.
int cgobay_rename_exchange_at(int dirfd, const char *a, const char *b);

/// Copies the regular file `from` to a new file `to` (O_EXCL, close-on-exec, created with `mode`):
/// a reflink (FICLONE) where the filesystem shares blocks copy-on-write, else copy_file_range.
/// 0 or -errno; a partial `to` is removed.
int cgobay_copy_file(const char *from, const char *to, unsigned int mode);
/// cgobay_copy_file with each name relative to a directory descriptor (AT_FDCWD for none);
/// neither name is followed when it is a symbolic link.
int cgobay_copy_file_at(int fromdir, const char *from, int todir, const char *to, unsigned int mode);

/// openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC): a descriptor of the entry itself (a
/// link stays a link), for fstat and cgobay_fchown_fd. -1 and errno on failure.
int cgobay_open_path(int dirfd, const char *name);

/// Changes the owner of what `fd` (any descriptor, O_PATH included) refers to, never following a
/// link: fchownat(fd, "", uid, gid, AT_EMPTY_PATH). 0, or -1 and errno.
int cgobay_fchown_fd(int fd, unsigned int uid, unsigned int gid);

#endif
