/* proc.h - child processes on io.h's reactor (tokio's process::Command,
 * libuv's uv_spawn).
 *
 * proc_spawn starts a program with its argv, environment, working
 * directory and three standard streams of your choosing, at once (no
 * future: fork or posix_spawn does not wait for the program); a
 * proc_wait_t future waits for it to exit; pipes to and from it are
 * io_fd_t handles in the proc_t, read and written with io.h's futures.
 *
 *     char *argv[] = {"sort", "-n", 0};
 *     proc_opts_t o = {0};                      // inherit all: zeroed
 *     o.argv = argv;                            // argv[0]: a path or a name in PATH
 *     o.in.how = PROC_PIPE;                     // f->p.in: write to its stdin
 *     o.out.how = PROC_PIPE;                    // f->p.out: read its stdout
 *     rc = proc_spawn(&f->p, exec_of(cx), &o);  // -ENOENT: no such program
 *     if (rc < 0) ASYNC_RETURN(rc);
 *     io_write_all_init(&f->wr, &f->p.in, "3\n1\n2\n", 6);
 *     AWAIT_TRY(cx, &f->wr);
 *     io_fd_close(&f->p.in);                    // its end of input
 *     ... read f->p.out until its end (io_reader_t, io_read_t) ...
 *     proc_wait_init(&f->w, &f->p);
 *     AWAIT_TRY(cx, &f->w);       // f->w.out.code (0..255), or .signal
 *     proc_close(&f->p);          // always: closes the pipes, reaps
 *
 * The handle (caller-owned; zeroed, or closed, before proc_spawn; must not
 * move while spawned)
 *   proc_t  proc_spawn(&p, ex, &opts): 0 or -errno (-ENOENT, -EACCES,
 *           -ENOTDIR: the program; a bad cwd: its chdir's error; -EMFILE,
 *           -EAGAIN, ...). On failure nothing is left: no child, no fd,
 *           p closed. ex: the executor of the pipes (0 is fine without
 *           PROC_PIPE: then it may be called from any thread).
 *           opts (proc_opts_t, zeroed = inherit everything):
 *             argv  the program (argv[0]: a path, or a name looked up in
 *                   the parent's PATH) and its arguments, 0-terminated
 *             envp  0: inherit the parent's environment; else exactly
 *                   these "NAME=value" strings, 0-terminated
 *             cwd   0: inherit; else the child's working directory
 *             in, out, err (proc_stdio_t): .how is one of
 *                   PROC_INHERIT  the parent's own stdin / stdout / stderr
 *                   PROC_NULL     /dev/null
 *                   PROC_PIPE     a pipe: the parent's end is p.in, p.out
 *                                 or p.err, an io_fd_t open on ex
 *                   PROC_FD       .fd, an fd of yours (a file, a socket,
 *                                 another child's pipe): the child gets a
 *                                 copy, yours stays open and yours. The
 *                                 copy is blocking: a pipe an io_fd_t
 *                                 holds is opened again for the child;
 *                                 a non-blocking socket is made blocking
 *                                 (one open file, as tokio does: do not
 *                                 await your io_fd_t on it after)
 *   proc_close(&p)   closes the pipes still open in p and lets go of the
 *           child: a running child is killed (SIGKILL) and reaped at once,
 *           unless detached (below). Always call it: it is what reaps. A
 *           closed (or zeroed) proc_t: nothing. 0, or -EAGAIN (a detached
 *           child's reaper thread could not start: p stays open, retry).
 *   proc_kill(&p, sig)  send sig (SIGTERM, SIGKILL, 0 to probe): 0, or
 *           -errno; 0 once the child has exited and was reaped (as Rust's
 *           Child::kill), and never to a recycled pid (see "No zombie").
 *   proc_detach(&p)  the child outlives p: proc_close leaves it running and
 *           a reaper thread reaps it when it exits. It can still be
 *           waited for and killed until proc_close.
 *   proc_id(&p)  its pid (0 once closed).
 *
 * The future (AWAIT it; the result in .out)
 *   proc_wait_t  proc_wait_init(&w, &p): the child's exit. w.out.code is
 *                its exit code (0..255) and w.out.signal 0; or, killed by
 *                a signal, w.out.code is -1 and w.out.signal the signal
 *                (SIGKILL after a proc_kill(&p, SIGKILL)). The status is
 *                kept in p.status: a second wait, after the exit, is ready
 *                at once with the same. Errors: -EBADF (p closed while it
 *                waited), -ECHILD (someone else reaped the child: a
 *                waitpid(-1) or SIGCHLD set to SIG_IGN), -EBUSY (another
 *                proc_wait_t waits on p: misuse), -EINVAL (p never
 *                spawned: misuse).
 *   While it waits, exec_dump's async backtrace says "proc wait pid 1234
 *   (pidfd 9)" or "proc wait pid 1234 (SIGCHLD)".
 *
 * Cancel safety
 *   wait   safe: the status is taken only by the poll that returns it (a
 *          dropped wait leaves the child running; a wait after the drop
 *          sees its exit). The child is not killed by dropping a wait,
 *          only by proc_close (as tokio: dropping `child.wait()` does not
 *          kill; dropping the Child with kill_on_drop does).
 *   spawn, close, kill, detach: no future, nothing to cancel.
 *
 * How a child starts
 *   - posix_spawn (posix_spawnp for a name) with exec.h's
 *     exec_spawnattr_init attributes: an empty signal mask and every
 *     signal's disposition back to default, whatever the spawning thread
 *     blocks or ignores (a pool thread blocks everything, io_signal_open
 *     blocks what it watches). The standard streams are dup2 file
 *     actions; cwd is posix_spawn_file_actions_addchdir_np (glibc 2.29+).
 *   - fork and exec where posix_spawn cannot: a cwd without addchdir_np
 *     (or one it refuses; and always for a cwd under IO_PORTABLE, which
 *     takes every fallback). The
 *     child calls exec_child_sigreset, its dup2s and chdir, then execs; a
 *     failure is carried back to the parent as errno over a close-on-exec
 *     pipe (it closes with the exec: 0 bytes read means the program runs).
 *     PATH is searched in the parent's environment, as by posix_spawnp.
 *   - Every fd proc.h makes is close-on-exec from the start (pipe2,
 *     F_DUPFD_CLOEXEC; IO_PORTABLE: pipe then fcntl, which a fork on
 *     another thread can race, as io.h says): the child gets its three
 *     streams and nothing else of ours. Fds of yours without FD_CLOEXEC
 *     are inherited, as with any exec.
 *   - glibc's posix_spawn reports an exec failure (-ENOENT) from
 *     proc_spawn; a C library that does not would let the child exit with
 *     127 instead.
 *
 * How the exit is seen
 *   - Linux (not IO_PORTABLE): a pidfd (pidfd_open, right after the spawn,
 *     while the unreaped child holds its pid), registered with the
 *     reactor at the first wait; it turns readable when the child exits,
 *     and waitpid(pid, WNOHANG) takes the status.
 *   - Elsewhere, with IO_PORTABLE, or when pidfd_open fails (a kernel
 *     before 5.3: ENOSYS; a seccomp filter): SIGCHLD through an io.h
 *     io_signal_t that the wait opens at its first poll and closes when it
 *     ends (or is dropped), and waitpid(pid, WNOHANG) for this child at
 *     each SIGCHLD (it checks once after opening: an exit before is not
 *     missed). Without signalfd (every system but Linux, and IO_PORTABLE)
 *     every open handle gets every SIGCHLD, so any number of waits work
 *     at once. On Linux without pidfd_open the handle is a signalfd,
 *     which hands each SIGCHLD to one reader and whose close discards a
 *     pending one; and the mask it sets is the loop thread's alone, so
 *     another thread that leaves SIGCHLD unblocked takes the signal and
 *     the wait never hears of it. There: wait for one child at a time,
 *     and block SIGCHLD in every thread (before starting them, as for any
 *     io_signal_t), or the wait sees the exit only at its next poll.
 *
 * No zombie, ever
 *   A child is reaped by the wait that sees it exit, or by proc_close:
 *   a running child is sent SIGKILL and reaped by a blocking waitpid,
 *   which returns as soon as the kernel has torn it down (milliseconds;
 *   longer only for a process stuck in an uninterruptible sleep). A
 *   detached child still running at proc_close is handed to a reaper: a
 *   detached thread (64 KiB stack, every signal blocked) that waitpids it
 *   and ends. Until reaped, the pid is the child's and no other process
 *   can have it, so proc_kill never hits a stranger; after, proc_kill
 *   sends nothing. Do not reap children with waitpid(-1) or SIG_IGN for
 *   SIGCHLD while proc_t handles are open: proc.h's waits get -ECHILD.
 *
 * Misuse (reported with FUTURE_MISUSE, and the error returned): spawning a
 * proc_t that is spawned and not closed (-EBUSY: the first child would
 * never be reaped); no argv or argv[0] (-EINVAL); PROC_PIPE with no
 * executor (-EINVAL); a bad .how (-EINVAL); two waits on one proc_t at
 * once (-EBUSY); a wait, kill or detach on a proc_t never spawned
 * (-EINVAL).
 *
 * The knob: PROC_NO_PIDFD (define it before including): take the SIGCHLD
 * path even on Linux (tests use it). proc.h includes io.h.
 *
 * Memory (x86-64, glibc): proc_t 536 bytes (four io_fd_t and an
 * io_signal_t: 616 under the poll backend, 1704 under IO_PORTABLE, whose
 * io_signal_t keeps saved actions, 1784 with both), proc_wait_t 160,
 * proc_opts_t 48
 * (test_proc checks these figures).
 */
#ifndef PROC_H
#define PROC_H

#include "io.h"

#ifdef EXEC_HAVE_FDS_
#include <limits.h> /* PTHREAD_STACK_MIN */
#include <sys/wait.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

/* pidfd_open: Linux, by its system call number (glibc has the wrapper only
 * since 2.36), unless IO_PORTABLE or PROC_NO_PIDFD. */
#if defined(__linux__) && defined(SYS_pidfd_open) && !defined(IO_PORTABLE) &&                \
    !defined(PROC_NO_PIDFD)
#define PROC_PIDFD_ 1
#endif

/* posix_spawn can change the directory: glibc 2.29+ (not IO_PORTABLE). */
#if defined(__GLIBC__) && !defined(IO_PORTABLE) &&                                           \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define PROC_ADDCHDIR_ 1
#endif

/* pipe2(O_CLOEXEC): Linux and the BSDs (not IO_PORTABLE). */
#if !defined(IO_PORTABLE) && (defined(__linux__) || defined(__FreeBSD__) ||                 \
                              defined(__NetBSD__) || defined(__OpenBSD__) ||                 \
                              defined(__DragonFly__))
#define PROC_PIPE2_ 1
#endif

extern char **environ;

/* proc_stdio_t.how */
enum {
    PROC_INHERIT = 0, /* the parent's own stream (a zeroed proc_opts_t) */
    PROC_NULL = 1,    /* /dev/null */
    PROC_PIPE = 2,    /* a pipe: p.in / p.out / p.err */
    PROC_FD = 3       /* .fd, the caller's */
};

typedef struct proc_stdio {
    int how; /* PROC_INHERIT, PROC_NULL, PROC_PIPE, PROC_FD */
    int fd;  /* PROC_FD: the fd the child gets (it stays the caller's) */
} proc_stdio_t;

typedef struct proc_opts {
    char *const *argv;  /* argv[0] the program (a path, or a name in PATH) */
    char *const *envp;  /* 0: the parent's environment */
    const char *cwd;    /* 0: the parent's working directory */
    proc_stdio_t in, out, err;
} proc_opts_t;

/* How a child ended: code 0..255 and signal 0 (it exited), or code -1 and
 * the signal that killed it. */
typedef struct proc_status {
    int code;
    int signal;
} proc_status_t;

enum { PROC_CLOSED_ = 0, PROC_RUNNING_, PROC_EXITED_ };

typedef struct proc {
    io_fd_t in, out, err;  /* PROC_PIPE: the parent's ends (caller's to use) */
    pid_t pid;             /* the child (0: closed) */
    int state;             /* PROC_CLOSED_, PROC_RUNNING_, PROC_EXITED_ */
    int detached;          /* proc_close leaves it to a reaper */
    int lost;              /* reaped behind proc.h's back: waits say -ECHILD */
    proc_status_t status;  /* once PROC_EXITED_ */
    int pidfd;             /* until the first wait registers it; -1: none */
    io_fd_t pidf;          /* the pidfd on the reactor */
    struct proc_wait *waiter; /* the wait waiting now, or 0 */
    io_signal_t chld;      /* SIGCHLD, while a wait waits without a pidfd */
} proc_t;

/* ---- the child's side ---------------------------------------------------- */

/* What fork's child does: exec file (searched in path, the parent's PATH,
 * when it has no '/') with argv and envp. Returns only on failure, errno
 * set: EACCES if some candidate was not executable, else the last
 * failure (ENOENT). Async-signal-safe: execve, and a stack buffer. */
WEFT_API void proc_exec_(const char *file, char *const *argv, char *const *envp,
                         const char *path) {
    char buf[4096];
    size_t flen = strlen(file);
    int eacces = 0;
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        return;
    }
    for (;;) {
        const char *end = path;
        size_t n;
        while (*end && *end != ':') end++;
        n = (size_t)(end - path);
        if (n == 0) buf[n++] = '.'; /* an empty entry is the working directory */
        else if (n + flen + 2 <= sizeof buf) memcpy(buf, path, n);
        if (n + flen + 2 <= sizeof buf) {
            buf[n] = '/';
            memcpy(buf + n + 1, file, flen + 1);
            execve(buf, argv, envp);
            if (errno == EACCES) eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR) return;
        }
        if (!*end) break;
        path = end + 1;
    }
    errno = eacces ? EACCES : ENOENT;
}

#ifndef PROC_CHILD_EXIT_
#define PROC_CHILD_EXIT_ _exit /* (tests: a coverage dump first) */
#endif

/* The child after fork: clean signals, its streams (fds[i] >= 3, or -1:
 * inherit), cwd, exec; on failure errno goes to the parent through ep
 * (close-on-exec: a successful exec closes it unwritten). */
WEFT_API void proc_child_(const proc_opts_t *o, const int fds[3], int ep, const char *path) {
    int i, e;
    ssize_t n;
    exec_child_sigreset();
    for (i = 0; i < 3; i++)
        if (fds[i] >= 0 && dup2(fds[i], i) < 0) goto fail; /* dup2 clears CLOEXEC */
    if (o->cwd && chdir(o->cwd) < 0) goto fail;
    proc_exec_(o->argv[0], o->argv, o->envp ? o->envp : environ, path);
fail:
    e = errno;
    n = write(ep, &e, sizeof e);
    (void)n;
    PROC_CHILD_EXIT_(127);
}

/* ---- spawning ------------------------------------------------------------ */

/* A pipe, both ends close-on-exec: 0 or -errno. */
WEFT_API int proc_pipe_(int p[2]) {
#ifdef PROC_PIPE2_
    return pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
#else
    if (pipe(p) < 0) return -errno;
    if (fcntl(p[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(p[1], F_SETFD, FD_CLOEXEC) < 0) {
        int rc = -errno;
        close(p[0]);
        close(p[1]);
        return rc;
    }
    return 0;
#endif
}

/* fd moved to a number >= 3, close-on-exec (it is closed): so that no dup2
 * onto 0, 1, 2 overwrites another stream's source, and dup2 never meets
 * an fd already in place (which would keep its close-on-exec). The new
 * fd, or -errno (fd closed). */
WEFT_API int proc_high_(int fd) {
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 3), rc = h < 0 ? -errno : h;
    close(fd);
    return rc;
}

/* The child's copy of the caller's fd (PROC_FD), blocking, as a program
 * expects its stdin / stdout / stderr to be. A non-blocking fd (an
 * io_fd_t's: another child's pipe, a socket) would give it EAGAIN. A pipe
 * is opened again through /proc/self/fd: a description of its own,
 * blocking, and the caller's stays as it was. Anything else (a socket)
 * has one description to share: it is made blocking, as tokio does when
 * its handle becomes a child's stdio. The copy (close-on-exec), or -errno. */
WEFT_API int proc_fd_copy_(int fd) {
    struct stat st;
    int fl = fcntl(fd, F_GETFL), rc;
    if (fl < 0) return -errno;
    if (fl & O_NONBLOCK) {
        if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
            char path[32];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            /* O_NONBLOCK: a pipe with no writer left would block an open
             * for reading (one with no reader fails: the fallback below) */
            rc = open(path, (fl & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
            if (rc >= 0 && fcntl(rc, F_SETFL, fl & ~O_NONBLOCK) == 0) return rc;
            if (rc >= 0) close(rc);
        }
        if (fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) return -errno;
    }
    rc = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return rc < 0 ? -errno : rc;
}

/* Stream i of the child: fds[i], the child's source (-1: inherit), and
 * for a pipe *mine, the parent's end (else -1). 0 or -errno, nothing left
 * open on failure. */
WEFT_API int proc_stdio_(const proc_stdio_t *s, int i, int *child, int *mine) {
    int p[2], rc;
    *child = *mine = -1;
    switch (s->how) {
    case PROC_INHERIT:
        return 0;
    case PROC_NULL:
        rc = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        if (rc < 0) return -errno;
        break;
    case PROC_FD:
        if ((rc = proc_fd_copy_(s->fd)) < 0) return rc;
        break;
    default: /* PROC_PIPE: checked by the caller */
        if ((rc = proc_pipe_(p)) < 0) return rc;
        *mine = p[i == 0];   /* stdin: the parent writes */
        rc = p[i != 0];      /* the child's end */
        if (*mine < 3 && (*mine = proc_high_(*mine)) < 0) {
            close(rc);
            return *mine;
        }
        break;
    }
    if (rc < 3 && (rc = proc_high_(rc)) < 0) { /* fd 0..2 were closed */
        if (*mine >= 0) close(*mine);
        *mine = -1;
        return rc;
    }
    *child = rc;
    return 0;
}

/* posix_spawn the child with fds[] as its streams: its pid, -errno, or
 * PROC_FORK_: it cannot do what o asks (a cwd without addchdir_np, or
 * addchdir_np refused). */
#define PROC_FORK_ (-1000000)
WEFT_API pid_t proc_posix_spawn_(const proc_opts_t *o, const int fds[3]) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int i, rc;
#ifndef PROC_ADDCHDIR_
    if (o->cwd) return PROC_FORK_;
#endif
    if ((rc = exec_spawnattr_init(&attr)) != 0) return -rc;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
        posix_spawnattr_destroy(&attr);
        return -rc;
    }
    for (i = 0; i < 3 && !rc; i++)
        if (fds[i] >= 0) rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
#ifdef PROC_ADDCHDIR_
    if (!rc && o->cwd && posix_spawn_file_actions_addchdir_np(&fa, o->cwd) != 0) rc = -1;
#endif
    if (!rc)
        rc = (strchr(o->argv[0], '/') ? posix_spawn : posix_spawnp)(
            &pid, o->argv[0], &fa, &attr, o->argv, o->envp ? o->envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc == -1 ? PROC_FORK_ : rc ? -rc : pid;
}

/* fork and exec the child (see "How a child starts"): its pid, or -errno
 * (no child left: one that failed to exec is reaped). */
WEFT_API pid_t proc_fork_(const proc_opts_t *o, const int fds[3]) {
    const char *path = getenv("PATH");
    pid_t pid;
    int ep[2], e, rc;
    ssize_t n;
    sigset_t all, old;
    if (!path) path = "/bin:/usr/bin"; /* glibc's default */
    if ((rc = proc_pipe_(ep)) < 0) return rc;
    /* Every signal blocked across the fork (as glibc's posix_spawn and
     * libuv do): a signal landing in the child before exec_child_sigreset
     * has reset the handlers would run the parent's handler there (an
     * io_signal_t's, writing into the parent's pipe). The child resets
     * every disposition, then unblocks. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) proc_child_(o, fds, ep[1], path); /* never returns */
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, 0);
    close(ep[1]);
    if (pid < 0) {
        close(ep[0]);
        return -e;
    }
    do n = read(ep[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n != (ssize_t)sizeof e) return pid; /* closed by the exec: it runs */
    while (waitpid(pid, 0, 0) < 0 && errno == EINTR) {} /* it _exited: reap it */
    return -e;
}

/* Start the child with fds[] as its streams: posix_spawn where it can do
 * everything, else fork. Its pid, or -errno (no child left). */
WEFT_API pid_t proc_start_(const proc_opts_t *o, const int fds[3]) {
    pid_t pid = proc_posix_spawn_(o, fds);
    return pid == PROC_FORK_ ? proc_fork_(o, fds) : pid;
}

WEFT_API void proc_clear_(proc_t *p) {
    io_fd_clear_(&p->in);
    io_fd_clear_(&p->out);
    io_fd_clear_(&p->err);
    io_fd_clear_(&p->pidf);
    io_signal_clear_(&p->chld, 0);
    p->pid = 0;
    p->state = PROC_CLOSED_;
    p->detached = 0;
    p->lost = 0;
    p->status.code = p->status.signal = 0;
    p->pidfd = -1;
    p->waiter = 0;
}

WEFT_API int proc_check_opts_(exec_t *ex, const proc_opts_t *o) {
    const proc_stdio_t *s[3];
    int i;
    s[0] = &o->in;
    s[1] = &o->out;
    s[2] = &o->err;
    if (!o->argv || !o->argv[0]) {
        FUTURE_MISUSE("proc_spawn: no program (opts.argv, or argv[0], is 0)");
        return -EINVAL;
    }
    for (i = 0; i < 3; i++) {
        if (s[i]->how < PROC_INHERIT || s[i]->how > PROC_FD) {
            FUTURE_MISUSE("proc_spawn: a stream's .how is not PROC_INHERIT, PROC_NULL, "
                          "PROC_PIPE or PROC_FD");
            return -EINVAL;
        }
        if (s[i]->how == PROC_PIPE && !ex) {
            FUTURE_MISUSE("proc_spawn: PROC_PIPE needs the executor its io_fd_t "
                          "will be read on (ex was 0)");
            return -EINVAL;
        }
    }
    return 0;
}

/* Start a child (see the top). 0, or -errno with nothing left behind. */
WEFT_API int proc_spawn(proc_t *p, exec_t *ex, const proc_opts_t *o) {
    io_fd_t *mine_fd[3];
    const proc_stdio_t *s[3];
    int child[3] = {-1, -1, -1}, mine[3] = {-1, -1, -1}, rc, i;
    pid_t pid;
    if (p->state != PROC_CLOSED_) {
        FUTURE_MISUSE("proc_spawn: this proc_t has a child already; proc_close it "
                      "first (or use another proc_t)");
        return -EBUSY;
    }
    if ((rc = proc_check_opts_(ex, o)) < 0) return rc;
    proc_clear_(p);
    mine_fd[0] = &p->in;
    mine_fd[1] = &p->out;
    mine_fd[2] = &p->err;
    s[0] = &o->in;
    s[1] = &o->out;
    s[2] = &o->err;
    for (i = 0; i < 3 && rc == 0; i++) rc = proc_stdio_(s[i], i, &child[i], &mine[i]);
    /* The parent's ends on the reactor before the spawn: a failure then
     * needs no child killed. (O_NONBLOCK on our end is not the child's: a
     * pipe's two ends are two open files.) */
    for (i = 0; i < 3 && rc == 0; i++)
        if (mine[i] >= 0 && (rc = io_fd_open(mine_fd[i], ex, mine[i])) == 0) mine[i] = -1;
    pid = rc < 0 ? rc : proc_start_(o, child);
    for (i = 0; i < 3; i++) {
        if (child[i] >= 0) close(child[i]);
        if (mine[i] >= 0) close(mine[i]);
        if (pid < 0) io_fd_close(mine_fd[i]);
    }
    if (pid < 0) return (int)pid;
    p->pid = pid;
    p->state = PROC_RUNNING_;
#ifdef PROC_PIDFD_
    /* The child cannot be reaped before this (only we wait for it), so
     * the pidfd is its. Failure: the SIGCHLD path. */
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->pidfd < 0) p->pidfd = -1;
#endif
    return 0;
}

WEFT_API pid_t proc_id(const proc_t *p) { return p->pid; }

/* ---- reaping ------------------------------------------------------------- */

/* waitpid(p's child, flags): 1 reaped (p->status set, PROC_EXITED_), 0
 * still running, -errno. */
WEFT_API int proc_reap_(proc_t *p, int flags) {
    int st;
    pid_t r;
    do r = waitpid(p->pid, &st, flags);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == ECHILD) { /* someone else reaped it: the pid may */
        p->state = PROC_EXITED_;    /* be another process's now, so never */
        p->lost = 1;                /* signal it again (proc_kill) */
        return -ECHILD;
    }
    if (r < 0) return -errno;
    if (r == 0) return 0;
    if (WIFSIGNALED(st)) {
        p->status.code = -1;
        p->status.signal = WTERMSIG(st);
    } else {
        p->status.code = WEXITSTATUS(st);
        p->status.signal = 0;
    }
    p->state = PROC_EXITED_;
    return 1;
}

/* Send sig to the child. 0 (also once it was reaped: nothing is sent),
 * or -errno. */
WEFT_API int proc_kill(proc_t *p, int sig) {
    if (p->state == PROC_CLOSED_) {
        FUTURE_MISUSE("proc_kill on a proc_t with no child (never spawned, or closed)");
        return -EINVAL;
    }
    if (p->state == PROC_EXITED_) return 0;
    return kill(p->pid, sig) < 0 ? -errno : 0;
}

WEFT_API int proc_detach(proc_t *p) {
    if (p->state == PROC_CLOSED_) {
        FUTURE_MISUSE("proc_detach on a proc_t with no child (never spawned, or closed)");
        return -EINVAL;
    }
    p->detached = 1;
    return 0;
}

/* The reaper of a detached child: waits for it, and ends. */
WEFT_API void *proc_reaper_(void *arg) {
    pid_t pid = (pid_t)(intptr_t)arg;
    while (waitpid(pid, 0, 0) < 0 && errno == EINTR) {}
    return 0;
}

/* A detached thread that reaps pid: 0 or -errno (-EAGAIN). Every signal
 * blocked in it (they are the application's threads' to take). */
WEFT_API int proc_hand_to_reaper_(pid_t pid) {
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    int rc = pthread_attr_init(&attr);
    if (rc) return -rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024 > PTHREAD_STACK_MIN ? 64 * 1024 : PTHREAD_STACK_MIN);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &attr, proc_reaper_, (void *)(intptr_t)pid);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    pthread_attr_destroy(&attr);
    return -rc;
}

/* Let go of the child (killed and reaped unless detached; a detached one
 * still running goes to a reaper thread), close the pipes still open, the
 * pidfd and the SIGCHLD handle. A wait still waiting finishes with -EBADF.
 * 0, or -EAGAIN: a detached child's reaper could not start (p stays open). */
WEFT_API int proc_close(proc_t *p) {
    int rc;
    if (p->state == PROC_CLOSED_) return 0;
    if (p->state == PROC_RUNNING_) {
        rc = proc_reap_(p, WNOHANG);
        if (rc == 0 && p->detached) {
            if ((rc = proc_hand_to_reaper_(p->pid)) < 0) return rc;
        } else if (rc == 0) {
            kill(p->pid, SIGKILL);
            proc_reap_(p, 0); /* fast: SIGKILL cannot be caught or ignored */
        }
    }
    if (io_fd_is_open(&p->in)) io_fd_close(&p->in);
    if (io_fd_is_open(&p->out)) io_fd_close(&p->out);
    if (io_fd_is_open(&p->err)) io_fd_close(&p->err);
    if (io_fd_is_open(&p->pidf)) io_fd_close(&p->pidf); /* wakes a wait: -EBADF */
    else if (p->pidfd >= 0) close(p->pidfd);
    io_signal_close(&p->chld);
    p->pidfd = -1;
    p->pid = 0;
    p->state = PROC_CLOSED_;
    p->waiter = 0;
    return 0;
}

/* ---- wait ---------------------------------------------------------------- */

typedef struct proc_wait {
    future_t fut;
    proc_t *p;
    union {
        io_readable_t rd;     /* the pidfd */
        io_signal_recv_t sig; /* or SIGCHLD */
    } u;
    int armed; /* u's future is initialised and not finished */
    proc_status_t out;
} proc_wait_t;

/* "pid 1234 (pidfd 9)", "pid 1234 (SIGCHLD)" */
WEFT_API void proc_wait_describe_(const future_t *f, future_fmt_t *o) {
    const proc_t *p = ((const proc_wait_t *)(const void *)f)->p;
    future_fmt_str(o, "pid ");
    future_fmt_u64(o, (unsigned long long)p->pid);
    if (io_fd_is_open(&p->pidf)) {
        future_fmt_str(o, " (pidfd ");
        future_fmt_u64(o, (unsigned long long)p->pidf.io.fd);
        future_fmt_str(o, ")");
    } else {
        future_fmt_str(o, " (SIGCHLD)");
    }
}

/* Let go of whatever the wait holds: its inner future, the SIGCHLD
 * handle, its place as p's waiter. */
WEFT_API void proc_wait_release_(proc_wait_t *w) {
    proc_t *p = w->p;
    if (w->armed) future_drop(&w->u.rd.fut); /* either: fut comes first */
    w->armed = 0;
    if (p->waiter != w) return;
    p->waiter = 0;
    io_signal_close(&p->chld);
}

/* Ready the inner future of the next wait step: 0, or -errno. */
WEFT_API int proc_wait_arm_(proc_wait_t *w, exec_t *ex) {
    proc_t *p = w->p;
    int rc;
    if (w->armed) return 0;
    if (p->pidfd >= 0 && !io_fd_is_open(&p->pidf)) {
        if ((rc = io_fd_open(&p->pidf, ex, p->pidfd)) < 0) return rc;
    }
    if (io_fd_is_open(&p->pidf)) {
        io_readable_init(&w->u.rd, &p->pidf);
    } else {
        io_signal_recv_init(&w->u.sig, &p->chld);
    }
    w->armed = 1;
    return 0;
}

/* The SIGCHLD handle open before the check for an exit (one after the
 * check then reaches it): 0 or -errno. */
WEFT_API int proc_wait_sigchld_(proc_wait_t *w, exec_t *ex) {
    proc_t *p = w->p;
    sigset_t set;
    if (p->pidfd >= 0 || io_fd_is_open(&p->chld.fd)) return 0;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    return io_signal_open(&p->chld, ex, &set);
}

WEFT_API int proc_wait_start_(proc_wait_t *w) {
    proc_t *p = w->p;
    if (p->state == PROC_CLOSED_) {
        if (!w->armed) FUTURE_MISUSE("proc_wait on a proc_t with no child (never spawned, "
                                     "or closed)");
        return w->armed ? -EBADF : -EINVAL;
    }
    if (p->waiter && p->waiter != w) {
        FUTURE_MISUSE("two proc_wait_t wait on one proc_t at once: await one wait "
                      "(a second one after it is ready at once)");
        return -EBUSY;
    }
    return 0;
}

WEFT_API coro_poll_t proc_wait_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "proc wait", proc_wait_describe_};
    proc_wait_t *w = (proc_wait_t *)(void *)self;
    proc_t *p = w->p;
    int rc = proc_wait_start_(w);
    if (rc < 0) {
        if (rc != -EBUSY) proc_wait_release_(w);
        return future_finish(self, rc);
    }
    if (p->state == PROC_RUNNING_) {
        p->waiter = w;
        for (;;) {
            if ((rc = proc_wait_sigchld_(w, exec_of(cx))) < 0) break;
            if ((rc = proc_reap_(p, WNOHANG)) != 0) break;
            if ((rc = proc_wait_arm_(w, exec_of(cx))) < 0) break;
            if (future_poll(&w->u.rd.fut, cx) == CORO_PENDING) {
                future_set_kind(self, &kind);
                return CORO_PENDING;
            }
            w->armed = 0;
            if ((rc = future_err(&w->u.rd.fut)) < 0) break;
            if (!io_fd_is_open(&p->pidf)) continue; /* a SIGCHLD: is it ours? */
            if ((rc = proc_reap_(p, WNOHANG)) != 0) break;
            /* Readable, yet not exited: the ready bit must go, or readable
             * would be ready again at once (a spin). */
            exec_io_clear(&p->pidf.io, EXEC_IO_READ);
        }
        proc_wait_release_(w);
        if (rc < 0) return future_finish(self, rc);
    }
    w->out = p->status;
    return future_leaf_ready(self, cx, p->lost ? -ECHILD : 0);
}

WEFT_API void proc_wait_drop_(future_t *self) { proc_wait_release_((proc_wait_t *)(void *)self); }

/* Wait for p's child to exit: w.out (see the top). */
WEFT_API void proc_wait_init(proc_wait_t *w, proc_t *p) {
    future_init(&w->fut, proc_wait_poll_, proc_wait_drop_);
    w->p = p;
    w->armed = 0;
    w->out.code = w->out.signal = 0;
}

#endif /* EXEC_HAVE_FDS_ */
#endif /* PROC_H */
