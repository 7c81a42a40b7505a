#define _GNU_SOURCE
#include "CSystemShims.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

// RLIMIT_CORE as it was before msi_harden_process set its soft limit to 0;
// msi_spawn puts it back for the duration of posix_spawn so that children
// (the app above all) start with the limit the container was given.
static struct rlimit saved_core_limit;
static int core_limit_saved = 0;

int msi_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
              const int stdio_fds[3], const char *cwd) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) {
        posix_spawnattr_destroy(&attr);
        return rc;
    }

    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    // sigfillset leaves out glibc's internal signals (32, 33), and for those
    // posix_spawn then sets SIG_IGN in the child, which survives exec: set
    // their bits directly so that the program starts with no ignored signal.
    // (SIGKILL and SIGSTOP cannot be reset; glibc skips them.)
    for (int sig = 32; sig < SIGRTMIN; sig++) {
        ((unsigned long *)&all)[(sig - 1) / (8 * sizeof(unsigned long))] |= 1UL << ((sig - 1) % (8 * sizeof(unsigned long)));
    }
    rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

    for (int target = 0; rc == 0 && target < 3; target++) {
        if (stdio_fds[target] < 0) {
            rc = posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                                  target == 0 ? O_RDONLY : O_WRONLY, 0);
        } else if (stdio_fds[target] == target) {
            // dup2 onto itself would not clear close-on-exec; clear it explicitly.
            int flags = fcntl(target, F_GETFD);
            if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(target, F_SETFD, flags & ~FD_CLOEXEC);
        } else {
            rc = posix_spawn_file_actions_adddup2(&actions, stdio_fds[target], target);
        }
    }
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (rc == 0 && cwd != NULL) rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    if (rc == 0) {
        struct rlimit lowered;
        if (core_limit_saved) {
            getrlimit(RLIMIT_CORE, &lowered);
            setrlimit(RLIMIT_CORE, &saved_core_limit);
        }
        rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
        if (core_limit_saved) setrlimit(RLIMIT_CORE, &lowered);
    }

    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int msi_signalfd(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

int msi_signalfd_read(int fd, int *signo, pid_t *sender_pid) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == (ssize_t)sizeof info) {
            *signo = (int)info.ssi_signo;
            *sender_pid = (pid_t)info.ssi_pid;
            return 1;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n >= 0) errno = EIO;
        return -1;
    }
}

int msi_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int msi_wifexited(int status) { return WIFEXITED(status); }
int msi_wexitstatus(int status) { return WEXITSTATUS(status); }
int msi_wifsignaled(int status) { return WIFSIGNALED(status); }
int msi_wtermsig(int status) { return WTERMSIG(status); }

int msi_drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups) {
    if (setgroups(ngroups, groups) != 0) return errno;
    if (setgid(gid) != 0) return errno;
    if (setuid(uid) != 0) return errno;
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) return EPERM;
    return 0;
}

int msi_restrict_privilege_gain(void) {
    // Drop every capability from the bounding set while root can (it needs
    // CAP_SETPCAP): a setuid-root or file-capability program then grants
    // nothing. Without CAP_SETPCAP this fails; no_new_privs below covers it.
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
        (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
    return 0;
}

int msi_set_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno;
}

int msi_harden_process(void) {
    int rc = 0;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) rc = errno;
    struct rlimit current;
    if (getrlimit(RLIMIT_CORE, &current) == 0) {
        if (!core_limit_saved) {
            saved_core_limit = current;
            core_limit_saved = 1;
        }
        struct rlimit none = {0, current.rlim_max};
        if (setrlimit(RLIMIT_CORE, &none) != 0 && rc == 0) rc = errno;
    }
    return rc;
}

int msi_get_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

int msi_open_directory(int dirfd, const char *name) {
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// Removes `name` in `dirfd` and, for a directory, everything below it. Every
// step is relative to a descriptor opened with O_NOFOLLOW, so a symbolic link
// swapped in at any moment is removed, never followed.
int msi_remove_tree_at(int dirfd, const char *name) {
    if (unlinkat(dirfd, name, 0) == 0) return 0;
    if (errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM) return errno;
    int fd = msi_open_directory(dirfd, name);
    if (fd < 0) {
        // Replaced by a non-directory since: try once more as a file.
        if (errno == ENOTDIR || errno == ELOOP) return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : errno;
        return errno == ENOENT ? 0 : errno;
    }
    int failure = 0;
    int listing = dup(fd);
    DIR *dir = listing >= 0 ? fdopendir(listing) : NULL;
    if (dir == NULL) {
        failure = errno;
        if (listing >= 0) close(listing);
    } else {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            int rc = msi_remove_tree_at(fd, entry->d_name);
            if (rc != 0 && failure == 0) failure = rc;
        }
        closedir(dir);
    }
    close(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && failure == 0) failure = errno;
    return failure;
}

// Gives `name` in `dirfd` and everything below it to uid:gid, through
// descriptors only. A symbolic link is changed itself (never followed); a
// non-directory with other hard links is changed only when `shared_owner`
// already owns it, so a link to a file from outside the tree is left alone.
long msi_chown_tree_at(int dirfd, const char *name, uid_t uid, gid_t gid, uid_t shared_owner) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    long changed = 0;
    if (!S_ISDIR(st.st_mode)) {
        if (st.st_uid == uid && st.st_gid == gid) return 0;
        if (!S_ISLNK(st.st_mode) && st.st_nlink > 1 && st.st_uid != shared_owner) return 0;
        return fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 1 : 0;
    }
    int fd = msi_open_directory(dirfd, name);
    if (fd < 0) return 0;
    if (fstat(fd, &st) == 0 && (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) == 0) changed++;
    int listing = dup(fd);
    DIR *dir = listing >= 0 ? fdopendir(listing) : NULL;
    if (dir != NULL) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            changed += msi_chown_tree_at(fd, entry->d_name, uid, gid, shared_owner);
        }
        closedir(dir);
    } else if (listing >= 0) {
        close(listing);
    }
    close(fd);
    return changed;
}

int msi_rename_at(int dirfd, const char *from, const char *to) {
    return renameat(dirfd, from, dirfd, to) == 0 ? 0 : errno;
}

int msi_getrandom(void *buffer, size_t length) {
    unsigned char *p = buffer;
    while (length > 0) {
        ssize_t n = getrandom(p, length, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

int msi_syncfs(int fd) {
    return syncfs(fd) == 0 ? 0 : errno;
}

int msi_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0 ? 0 : errno;
}

int msi_renameat_noreplace(int dirfd, const char *from, const char *to) {
    return renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0 ? 0 : errno;
}

int msi_filesystem_space(const char *path, uint64_t *free_bytes, uint64_t *total_bytes) {
    struct statvfs s;
    if (statvfs(path, &s) != 0) return errno;
    *free_bytes = (uint64_t)s.f_bavail * (uint64_t)s.f_frsize;
    *total_bytes = (uint64_t)s.f_blocks * (uint64_t)s.f_frsize;
    return 0;
}

int msi_device_of(const char *path, uint64_t *device) {
    struct stat st;
    if (stat(path, &st) != 0) return errno;
    *device = (uint64_t)st.st_dev;
    return 0;
}

int msi_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

static long release_mapping(unsigned long start, unsigned long end) {
    return madvise((void *)start, end - start, MADV_DONTNEED) == 0 ? (long)(end - start) : 0;
}

long msi_release_readonly_file_pages(void) {
    malloc_trim(0);
    FILE *smaps = fopen("/proc/self/smaps", "re");
    if (smaps == NULL) return -1;
    char line[512];
    long released = 0;
    unsigned long start = 0, end = 0;
    int candidate = 0;
    while (fgets(line, sizeof line, smaps) != NULL) {
        unsigned long s, e, inode;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s %*s %*s %lu", &s, &e, perms, &inode) == 4) {
            if (candidate) released += release_mapping(start, end);
            // File-backed, private, not writable now: code and constants.
            candidate = inode != 0 && perms[1] != 'w' && perms[3] == 'p';
            start = s;
            end = e;
            continue;
        }
        unsigned long anonymous;
        // A read-only mapping with private copies (RELRO: the GOT was written
        // before it was made read-only) would lose them: keep it.
        if (candidate && sscanf(line, "Anonymous: %lu kB", &anonymous) == 1 && anonymous > 0) candidate = 0;
    }
    if (candidate) released += release_mapping(start, end);
    fclose(smaps);
    return released;
}

// ---------------------------------------------------------------------------
// Tree copy (template cluster -> first boot's temporary directory)

#include <linux/fs.h>
#include <sys/ioctl.h>

static int append_listing(struct msi_copy_result *r, const char *line) {
    size_t n = strlen(line);
    char *grown = realloc(r->listing, r->listing_length + n + 1);
    if (!grown) return ENOMEM;
    memcpy(grown + r->listing_length, line, n + 1);
    r->listing = grown;
    r->listing_length += n;
    return 0;
}

static int write_all_at(int out, const char *buffer, size_t length, off_t offset) {
    for (size_t written = 0; written < length;) {
        ssize_t w = pwrite(out, buffer + written, length - written, offset + (off_t)written);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        written += (size_t)w;
    }
    return 0;
}

static int is_zero(const char *block, size_t length) {
    for (size_t i = 0; i < length; i++) if (block[i]) return 0;
    return 1;
}

// MSI_COPY_MAKE_HOLES: read and write, leaving 4 kB blocks of zeros out (the
// template: PostgreSQL's zero-filled WAL segment is mostly zeros).
static int copy_making_holes(int in, int out, uint64_t size, int *methods) {
    static char buffer[1 << 16];
    off_t offset = 0;
    for (;;) {
        ssize_t n = pread(in, buffer, sizeof buffer, offset);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        for (ssize_t at = 0; at < n; at += 4096) {
            size_t length = (size_t)(n - at) < 4096 ? (size_t)(n - at) : 4096;
            if (is_zero(buffer + at, length)) continue;
            int e = write_all_at(out, buffer + at, length, offset + at);
            if (e) return e;
        }
        offset += n;
        *methods |= 4;
    }
    return ftruncate(out, (off_t)size) == 0 ? 0 : errno;
}

// copy_file_range of [offset, offset + length), falling back to read/write.
static int copy_range(int in, int out, off_t offset, uint64_t length, int *methods) {
    off_t in_offset = offset, out_offset = offset;
    uint64_t done = 0;
    while (done < length) {
        ssize_t n = copy_file_range(in, &in_offset, out, &out_offset, length - done, 0);
        if (n > 0) {
            done += (uint64_t)n;
            *methods |= 2;
            continue;
        }
        if (n == 0) return 0;  // the source got shorter: the listing records what was copied
        if (errno == EINTR) continue;
        if (!(errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) return errno;
        static char buffer[1 << 16];
        while (done < length) {
            size_t want = length - done < sizeof buffer ? (size_t)(length - done) : sizeof buffer;
            ssize_t r = pread(in, buffer, want, offset + (off_t)done);
            if (r == 0) return 0;
            if (r < 0) {
                if (errno == EINTR) continue;
                return errno;
            }
            int e = write_all_at(out, buffer, (size_t)r, offset + (off_t)done);
            if (e) return e;
            done += (uint64_t)r;
            *methods |= 4;
        }
    }
    return 0;
}

// MSI_COPY_FILL_HOLES: clone, or copy the data extents only; then the holes
// are allocated (fallocate: metadata only, reads give zeros), so that
// PostgreSQL never meets a full disk in a WAL segment it thinks it has.
static int copy_filling_holes(int in, int out, uint64_t size, int *methods) {
    if (size == 0) return 0;
    int holes = 1;
    if (ioctl(out, FICLONE, in) == 0) {
        *methods |= 1;
    } else {
        off_t data = 0;
        holes = 0;
        for (;;) {
            data = lseek(in, data, SEEK_DATA);
            if (data < 0) {
                if (errno == ENXIO) { holes = 1; break; }  // no data after this point
                // No SEEK_DATA here: all of it is data.
                int e = copy_range(in, out, 0, size, methods);
                if (e) return e;
                break;
            }
            if (data > 0) holes = 1;
            off_t hole = lseek(in, data, SEEK_HOLE);
            if (hole < 0) hole = (off_t)size;
            int e = copy_range(in, out, data, (uint64_t)(hole - data), methods);
            if (e) return e;
            data = hole;
            if ((uint64_t)data >= size) break;
            holes = 1;
        }
        if (holes && ftruncate(out, (off_t)size) != 0) return errno;
    }
    // Only files with holes: on a file written in full it would cost time for nothing.
    if (holes && fallocate(out, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) return errno;
    return 0;
}

static int copy_contents(int in, int out, uint64_t size, int mode, int *methods) {
    return mode == MSI_COPY_MAKE_HOLES ? copy_making_holes(in, out, size, methods)
                                       : copy_filling_holes(in, out, size, methods);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int copy_tree_at(int src, int dst, const char *prefix, mode_t dir_mode, mode_t file_mode, int mode,
                        struct msi_copy_result *r) {
    int listing_fd = dup(src);
    if (listing_fd < 0) return errno;
    DIR *dir = fdopendir(listing_fd);
    if (!dir) {
        int e = errno;
        close(listing_fd);
        return e;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    int error = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown) { error = ENOMEM; break; }
            names = grown;
        }
        names[count] = strdup(entry->d_name);
        if (!names[count]) { error = ENOMEM; break; }
        count++;
    }
    closedir(dir);
    if (!error) qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count && !error; i++) {
        const char *name = names[i];
        char relative[1024];
        snprintf(relative, sizeof relative, "%s%s", prefix, name);
        snprintf(r->failed_path, sizeof r->failed_path, "%s", relative);
        struct stat st;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { error = errno; break; }
        char line[1200];
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst, name, dir_mode) != 0) { error = errno; break; }
            int child_src = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child_src < 0) { error = errno; break; }
            int child_dst = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child_dst < 0) { error = errno; close(child_src); break; }
            // mkdirat applies the umask: the mode is set explicitly.
            if (fchmod(child_dst, dir_mode) != 0) error = errno;
            snprintf(line, sizeof line, "d %s\n", relative);
            if (!error) error = append_listing(r, line);
            char nested[1024];
            snprintf(nested, sizeof nested, "%s/", relative);
            if (!error) error = copy_tree_at(child_src, child_dst, nested, dir_mode, file_mode, mode, r);
            close(child_src);
            close(child_dst);
        } else if (S_ISREG(st.st_mode)) {
            int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (in < 0) { error = errno; break; }
            int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode);
            if (out < 0) { error = errno; close(in); break; }
            struct stat opened;
            if (fstat(in, &opened) != 0) error = errno;
            if (!error) error = copy_contents(in, out, (uint64_t)opened.st_size, mode, &r->methods);
            if (!error && fchmod(out, file_mode) != 0) error = errno;
            struct stat copied;
            if (!error && fstat(out, &copied) != 0) error = errno;
            close(in);
            close(out);
            if (!error) {
                r->files++;
                r->bytes += (uint64_t)copied.st_size;
                snprintf(line, sizeof line, "f %s %llu\n", relative, (unsigned long long)copied.st_size);
                error = append_listing(r, line);
            }
        } else {
            error = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
        }
    }
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    if (!error) r->failed_path[0] = 0;
    return error;
}

int msi_copy_tree(int src_dirfd, int dst_dirfd, mode_t dir_mode, mode_t file_mode, int mode, struct msi_copy_result *result) {
    memset(result, 0, sizeof *result);
    return copy_tree_at(src_dirfd, dst_dirfd, "", dir_mode, file_mode, mode, result);
}
