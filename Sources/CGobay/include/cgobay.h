#ifndef CGOBAY_H
#define CGOBAY_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close on exec, with no window for another thread's spawn.
int cgobay_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np, which glibc declares only under _GNU_SOURCE.
int cgobay_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
