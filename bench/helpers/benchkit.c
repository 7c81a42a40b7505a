/*
 * benchkit: the tiny children the benchmark runs under each init.
 *
 *   benchkit stamp FILE [pause]   write CLOCK_MONOTONIC ns to FILE, then exit 0
 *                                 (or, with "pause", sleep until a signal kills it)
 *   benchkit trap READY OUT       handle SIGTERM: write CLOCK_MONOTONIC ns to OUT
 *                                 and _exit(0); READY is written once the handler
 *                                 is installed; otherwise sleeps in pause()
 *   benchkit zombies N OUT        hand N zombies to PID 1 at once: a middle process
 *                                 forks N children that exit at once, waits until
 *                                 all of them are zombies, notes the time and exits,
 *                                 so that the kernel re-parents the N zombies to the
 *                                 init. This process (a child of the init) reaps the
 *                                 middle one, spins until every one of the N pids is
 *                                 gone (reaped by PID 1) and writes to OUT the ns from
 *                                 the middle process's exit to none left
 *   benchkit floor N OUT          the same hand-over, run as PID 1 itself: it does
 *                                 nothing but waitpid(-1) until it has no child left,
 *                                 the best any init can do (the floor); writes the ns
 *                                 from the middle process's exit to none left
 *   benchkit own N OUT            a parent reaping its own N zombie children (no
 *                                 hand-over); writes the ns it took
 *
 * Every timestamp is CLOCK_MONOTONIC, the clock Python's time.monotonic_ns()
 * reads, shared by all PID namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* async-signal-safe write of one integer and a newline to a new file */
static void write_num(const char *path, int64_t v) {
    char buf[32];
    int i = sizeof buf;
    buf[--i] = '\n';
    int neg = v < 0;
    uint64_t u = neg ? (uint64_t)(-v) : (uint64_t)v;
    do { buf[--i] = (char)('0' + u % 10); u /= 10; } while (u && i > 1);
    if (neg) buf[--i] = '-';
    char tmp[4096];
    size_t n = strlen(path);
    if (n + 5 >= sizeof tmp) _exit(70);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) _exit(71);
    if (write(fd, buf + i, sizeof buf - i) < 0) _exit(72);
    close(fd);
    if (rename(tmp, path) != 0) _exit(73);
}

static const char *trap_out;
static void on_term(int sig) {
    (void)sig;
    write_num(trap_out, now_ns());
    _exit(0);
}

static void wait_zombies(const pid_t *pids, long n) {
    /* every child is a zombie once waitid(WNOWAIT) reports it */
    for (long i = 0; i < n; i++) {
        for (;;) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0) break;
            sched_yield();
        }
    }
}

static pid_t *spawn_dying(long n) {
    pid_t *pids = malloc(sizeof(pid_t) * (size_t)n);
    if (!pids) exit(70);
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); exit(70); }
        if (p == 0) _exit(0);
        pids[i] = p;
    }
    return pids;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "stamp") == 0) {
        write_num(argv[2], now_ns());
        if (argc >= 4 && strcmp(argv[3], "pause") == 0)
            for (;;) pause();
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "trap") == 0) {
        trap_out = argv[3];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        write_num(argv[2], now_ns());
        for (;;) pause();
    }
    if (argc == 4 && (strcmp(argv[1], "zombies") == 0 || strcmp(argv[1], "floor") == 0)) {
        int floor_mode = strcmp(argv[1], "floor") == 0;
        long n = atol(argv[2]);
        /* shared page: [0] = hand-over time, [1] = unused, then the pids */
        size_t sz = sizeof(int64_t) * 2 + sizeof(pid_t) * (size_t)n;
        int64_t *shm = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shm == MAP_FAILED) return 70;
        pid_t *shared_pids = (pid_t *)(shm + 2);
        pid_t middle = fork();
        if (middle < 0) return 70;
        if (middle == 0) {
            pid_t *pids = spawn_dying(n);
            wait_zombies(pids, n);
            memcpy(shared_pids, pids, sizeof(pid_t) * (size_t)n);
            shm[0] = now_ns();
            _exit(0); /* the kernel hands the N zombies to PID 1 here */
        }
        if (floor_mode) {
            /* we are PID 1: reap the middle process and the N orphans */
            for (;;) {
                pid_t r = waitpid(-1, NULL, 0);
                if (r < 0 && errno == ECHILD) break;
            }
        } else {
            int st;
            while (waitpid(middle, &st, 0) < 0 && errno == EINTR) {}
            for (long i = 0; i < n; i++)
                while (kill(shared_pids[i], 0) == 0) sched_yield();
        }
        int64_t done = now_ns();
        write_num(argv[3], done - shm[0]);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "own") == 0) {
        long n = atol(argv[2]);
        pid_t *pids = spawn_dying(n);
        wait_zombies(pids, n);
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            while (waitpid(-1, NULL, 0) < 0 && errno == EINTR) {}
        int64_t t1 = now_ns();
        write_num(argv[3], t1 - t0);
        return 0;
    }
    fprintf(stderr, "usage: benchkit stamp FILE [pause] | trap READY OUT | zombies N OUT | floor N OUT | own N OUT\n");
    return 64;
}
