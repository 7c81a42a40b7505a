// The libc calls Swift cannot import (macros, _GNU_SOURCE-only declarations,
// structs it cannot lay out). Only Sources/MathesarInit/Process and
// Sources/MathesarInit/Volume call these; every other file uses their Swift API.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Spawns `path` with posix_spawn: empty signal mask, every signal at its default
/// disposition, a new session (POSIX_SPAWN_SETSID: own process group, no
/// controlling terminal), fds 0-2 from `stdio_fds` (-1 means /dev/null) and
/// every other descriptor closed. `cwd` may be NULL. Returns 0 or an errno.
int msi_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
              const int stdio_fds[3], const char *cwd);

/// signalfd for `mask` (close-on-exec, non-blocking). Returns the fd or -1.
int msi_signalfd(const sigset_t *mask);

/// Reads one signalfd record. Returns 1 when one was read, 0 when none is
/// pending, -1 on error (errno set).
int msi_signalfd_read(int fd, int *signo, pid_t *sender_pid);

/// prctl(PR_SET_CHILD_SUBREAPER, 1). Returns 0 or -1.
int msi_set_child_subreaper(void);

/// Decoding of waitpid's status word.
int msi_wifexited(int status);
int msi_wexitstatus(int status);
int msi_wifsignaled(int status);
int msi_wtermsig(int status);

/// setgroups, setgid, setuid, and a check that root cannot be regained.
/// Returns 0 or an errno.
int msi_drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);

/// Drops every capability from the bounding set (needs CAP_SETPCAP; without
/// it nothing changes). Call before giving up root. Returns 0.
int msi_restrict_privilege_gain(void);

/// prctl(PR_SET_NO_NEW_PRIVS, 1): execve never grants privileges again
/// (setuid bits and file capabilities are ignored). Returns 0 or an errno.
int msi_set_no_new_privs(void);

/// Keeps this process's memory out of core dumps and away from ptrace by
/// its own uid: PR_SET_DUMPABLE 0 and a soft RLIMIT_CORE of 0. The limit as it
/// was is kept, and msi_spawn gives it back to children. Returns 0 or an errno.
int msi_harden_process(void);

/// prctl(PR_GET_DUMPABLE).
int msi_get_dumpable(void);

/// openat(dirfd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC): -1 (errno set)
/// when `name` is a symbolic link or not a directory.
int msi_open_directory(int dirfd, const char *name);

/// `rm -rf` of `name` in `dirfd` through descriptors only: a symbolic link is
/// removed, never followed, even when swapped in during the walk. Returns 0
/// or the first errno.
int msi_remove_tree_at(int dirfd, const char *name);

/// `chown -R` of `name` in `dirfd` through descriptors only; symbolic links
/// are changed themselves. A file with other hard links is changed only when
/// `shared_owner` owns it. Returns how many entries were changed.
long msi_chown_tree_at(int dirfd, const char *name, uid_t uid, gid_t gid, uid_t shared_owner);

/// renameat(2) within one directory. Returns 0 or an errno.
int msi_rename_at(int dirfd, const char *from, const char *to);

/// getrandom(2) until `length` bytes are filled. Returns 0 or an errno.
int msi_getrandom(void *buffer, size_t length);

/// syncfs(2) on the filesystem holding `fd`. Returns 0 or an errno.
int msi_syncfs(int fd);

/// renameat2(RENAME_NOREPLACE). Returns 0 or an errno.
int msi_rename_noreplace(const char *from, const char *to);

/// renameat2(RENAME_NOREPLACE) within one directory. Returns 0 or an errno.
int msi_renameat_noreplace(int dirfd, const char *from, const char *to);

/// Free and total bytes of the filesystem holding `path`. Returns 0 or an errno.
int msi_filesystem_space(const char *path, uint64_t *free_bytes, uint64_t *total_bytes);

/// Device number of the filesystem holding `path` (to tell mount points apart).
int msi_device_of(const char *path, uint64_t *device);

/// pipe2(O_CLOEXEC). Returns 0 or -1.
int msi_pipe_cloexec(int fds[2]);

/// Drops this process's read-only file-backed pages (code, constants) from its
/// page tables with MADV_DONTNEED. They stay in the page cache and fault back
/// in when used; writable mappings and mappings holding private copies are
/// left alone. Trims malloc's free memory first. Returns the bytes released.
long msi_release_readonly_file_pages(void);

/// What msi_copy_tree did: a listing of every entry copied ("d REL" and
/// "f REL SIZE" lines, sorted by name within each directory; malloc'd, the
/// caller frees it), counts, and which copy methods were used.
struct msi_copy_result {
    char *listing;
    size_t listing_length;
    uint64_t files;
    uint64_t bytes;
    /// Bit 1: FICLONE (reflink), bit 2: copy_file_range, bit 4: read/write.
    int methods;
    /// The entry that failed, relative to the source root.
    char failed_path[1024];
};

/// Copies the tree below `src_dirfd` into the empty directory `dst_dirfd`
/// through descriptors only: directories made with mkdirat (`dir_mode`),
/// files created with O_CREAT | O_EXCL | O_NOFOLLOW (`file_mode`), so that
/// nothing in the destination is followed or overwritten. Contents are
/// copied by `mode`: MSI_COPY_MAKE_HOLES reads and writes, leaving blocks of
/// zeros out as holes (a template: PostgreSQL's WAL segment is mostly
/// zeros); MSI_COPY_FILL_HOLES clones (FICLONE) where the filesystem can,
/// else copies only the data extents in the kernel (copy_file_range), then
/// allocates the holes (fallocate), so that the copy is a fully allocated
/// file. A symbolic link or special file in the source is refused (ELOOP or
/// EINVAL). No fsync: the caller flushes the filesystem once. Returns 0 or
/// the first errno.
#define MSI_COPY_MAKE_HOLES 1
#define MSI_COPY_FILL_HOLES 2
int msi_copy_tree(int src_dirfd, int dst_dirfd, mode_t dir_mode, mode_t file_mode, int mode, struct msi_copy_result *result);

#endif
