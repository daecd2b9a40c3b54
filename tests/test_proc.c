/* Tests of proc.h: child processes. /bin/sh, /bin/echo, /bin/cat and grep
 * as children: exit codes, a signal's death, pipes both ways (cat: write
 * its stdin, read its stdout back, close its stdin and it exits), a
 * program that is not there, cwd and env, the child's signal mask and
 * dispositions (clean when spawned with signals blocked and ignored, or
 * from a pool thread), no fd leaking into the child or left in the parent,
 * the wait dropped while it waits and the proc_t closed: the child killed
 * and reaped, no zombie; detached children reaped by the reaper; misuse.
 * Each wait runs both ways: on a pidfd (Linux), and on SIGCHLD (pidfd_open
 * failed by fault injection; -DIO_PORTABLE takes that path always, and
 * fork for a cwd). A child's runtime is real: no duration is asserted; the
 * executor's clock is paused, so a sleep raced against a wait ends at once
 * when nothing else is ready (that is how a wait is dropped while it
 * waits). alarm() is only a safety net against a hang.
 */
#include "check.h"
#include "fault.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

/* ---- fault injection (see tests/fault.h) ---------------------------------- */

static fault_t f_pidfd, f_pipe, f_open, f_dupfd, f_fork, f_thread, f_adddup2, f_register,
    f_chdir, f_attr, f_fainit;

#define PROC_UNUSED_ __attribute__((unused))
static PROC_UNUSED_ int t_pipe(int p[2]) { return fault_hit(&f_pipe) ? -1 : pipe(p); }
#ifdef __linux__
static PROC_UNUSED_ int t_pipe2(int p[2], int fl) { return fault_hit(&f_pipe) ? -1 : pipe2(p, fl); }
#endif
static PROC_UNUSED_ int t_open(const char *path, int fl, ...) {
    return fault_hit(&f_open) ? -1 : open(path, fl, 0);
}
static PROC_UNUSED_ int t_fcntl(int fd, int cmd, ...) {
    int arg = 0, with_arg = cmd == F_SETFL || cmd == F_SETFD || cmd == F_DUPFD_CLOEXEC;
    va_list ap;
    va_start(ap, cmd);
    if (with_arg) arg = va_arg(ap, int);
    va_end(ap);
    if (cmd == F_DUPFD_CLOEXEC && fault_hit(&f_dupfd)) return -1; /* only that fails */
    return with_arg ? fcntl(fd, cmd, arg) : fcntl(fd, cmd);
}
static PROC_UNUSED_ pid_t t_fork(void) { return fault_hit(&f_fork) ? -1 : fork(); }
static PROC_UNUSED_ int t_pthread_create(pthread_t *t, const pthread_attr_t *a,
                                         void *(*fn)(void *), void *arg) {
    if (fault_hit(&f_thread)) return errno;
    return pthread_create(t, a, fn, arg);
}
static PROC_UNUSED_ int t_adddup2(posix_spawn_file_actions_t *fa, int fd, int to) {
    if (fault_hit(&f_adddup2)) return errno;
    return posix_spawn_file_actions_adddup2(fa, fd, to);
}
static PROC_UNUSED_ int t_attr_init(posix_spawnattr_t *a) {
    return fault_hit(&f_attr) ? errno : posix_spawnattr_init(a);
}
static PROC_UNUSED_ int t_fa_init(posix_spawn_file_actions_t *fa) {
    return fault_hit(&f_fainit) ? errno : posix_spawn_file_actions_init(fa);
}
static PROC_UNUSED_ int t_addchdir(posix_spawn_file_actions_t *fa, const char *dir) {
    if (fault_hit(&f_chdir)) return errno;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 29)
    return posix_spawn_file_actions_addchdir_np(fa, dir);
#else
    (void)fa;
    (void)dir;
    return ENOSYS;
#endif
}
#ifdef __linux__
static PROC_UNUSED_ int t_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) {
    return fault_hit(&f_register) ? -1 : epoll_ctl(e, op, fd, ev);
}
#endif
static PROC_UNUSED_ int t_fstat(int fd, struct stat *st) {
    return fault_hit(&f_register) ? -1 : fstat(fd, st);
}

#define pipe(p) t_pipe(p)
#ifdef __linux__
#define pipe2(p, fl) t_pipe2(p, fl)
#endif
#define open(...) t_open(__VA_ARGS__)
#define fcntl(...) t_fcntl(__VA_ARGS__)
#define fork() t_fork()
#define pthread_create(...) t_pthread_create(__VA_ARGS__)
#define posix_spawn_file_actions_adddup2(...) t_adddup2(__VA_ARGS__)
#define posix_spawn_file_actions_addchdir_np(...) t_addchdir(__VA_ARGS__)
#define posix_spawnattr_init(a) t_attr_init(a)
#define posix_spawn_file_actions_init(fa) t_fa_init(fa)
#ifdef CHECK_COVERAGE /* a child that fails to exec dumps its counters */
extern void __gcov_dump(void);
static void cover_child_exit(int code) {
    __gcov_dump();
    _exit(code);
}
#define PROC_CHILD_EXIT_ cover_child_exit
#endif
#ifdef SYS_pidfd_open /* pidfd_open fails: the SIGCHLD path (a kernel before 5.3) */
#define syscall(n, ...)                                                        \
    ((n) == SYS_pidfd_open && fault_hit(&f_pidfd) ? -1L : syscall(n, __VA_ARGS__))
#endif
#ifdef EXEC_BACKEND_POLL
#define fstat(...) t_fstat(__VA_ARGS__)
#elif defined(__linux__)
#define epoll_ctl(...) t_epoll_ctl(__VA_ARGS__)
#endif

#include "../proc.h"
#include "../blocking.h"
#include "paused.h"

/* PROC_TEST_SETTLE (run.sh's proc_settle run): every spawn waits 50 ms
 * before it returns, so a short-lived child has exited before the test's
 * next step: a test that quietly relies on a child still running (on its
 * wait registering something, say) fails every time, not once in a while
 * on a machine where the child happens to win. */
#ifdef PROC_TEST_SETTLE
static int t_spawn_settle(proc_t *p, exec_t *ex, const proc_opts_t *o) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    int rc = proc_spawn(p, ex, o);
    if (rc == 0)
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
    return rc;
}
#define proc_spawn(...) t_spawn_settle(__VA_ARGS__)
#endif

/* The poll backend's registration is an fstat, after io_fd_open's own. */
#ifdef EXEC_BACKEND_POLL
#define POLLED_ 1
#else
#define POLLED_ 0
#endif

static fault_t *const all_faults[] = {&f_pidfd,  &f_pipe,    &f_open,     &f_dupfd, &f_fork,
                                      &f_thread, &f_adddup2, &f_register, &f_chdir,
                                      &f_attr,   &f_fainit};
static int forking; /* this round: posix_spawn refuses any cwd: fork */

static void faults_off(void) {
    size_t i;
    for (i = 0; i < sizeof all_faults / sizeof all_faults[0]; i++)
        memset(all_faults[i], 0, sizeof *all_faults[i]);
    if (forking) fault_arm(&f_chdir, 0, -1, ENOSYS);
}

/* ---- the executor, the two ways to wait ----------------------------------- */

static exec_t ex;
static int fds_before;
static int by_sigchld; /* this round: pidfd_open fails, waits take SIGCHLD */
static int pidfd_missing; /* it fails anyway: the kernel (or valgrind) */

static void setup(void) {
    faults_off();
    fds_before = check_open_fds();
    paused_init(&ex);
}

/* Nothing left: no fd in the parent, nothing on the reactor. */
#define TEARDOWN()                                                             \
    do {                                                                       \
        faults_off();                                                          \
        CHECK_EQ(ex.nio, 0);                                                   \
        exec_destroy(&ex);                                                     \
        CHECK_EQ(check_open_fds(), fds_before);                                \
    } while (0)

static int run1(future_t *f) { return paused_run1(&ex, f); }
static int race(future_t *f, uint64_t ms) { return paused_race(&ex, f, ms); }

/* No child of ours with this pid: reaped (not a zombie), and gone. */
static int reaped(pid_t pid) {
    errno = 0;
    if (waitpid(pid, 0, WNOHANG) != -1 || errno != ECHILD) return 0;
    return kill(pid, 0) == -1 && errno == ESRCH;
}

/* proc_spawn with the three streams' .how (PROC_FD: the fds given). */
static int spawn3(proc_t *p, char **argv, int in, int out, int err) {
    proc_opts_t o;
    memset(&o, 0, sizeof o);
    o.argv = argv;
    o.in.how = in;
    o.out.how = out;
    o.err.how = err;
    if (by_sigchld) fault_arm(&f_pidfd, 0, 1, ENOSYS);
    return proc_spawn(p, &ex, &o);
}

/* Talk to a child: write `input` to its stdin (if any) and close it, read
 * its stdout to the end (if a pipe), wait for its exit. */
typedef struct {
    future_t fut;
    proc_t *p;
    const char *input;
    io_write_all_t wr;
    io_read_t rd;
    proc_wait_t w;
    char out[4096];
    size_t n;
} talk_t;

static coro_poll_t talk_poll(future_t *self, future_cx_t *cx) {
    talk_t *f = (talk_t *)(void *)self;
    ASYNC_BEGIN(f);
    if (f->input) {
        io_write_all_init(&f->wr, &f->p->in, f->input, strlen(f->input));
        AWAIT_TRY(cx, &f->wr);
        io_fd_close(&f->p->in);
    }
    while (io_fd_is_open(&f->p->out)) {
        io_read_init(&f->rd, &f->p->out, f->out + f->n, sizeof f->out - 1 - f->n);
        AWAIT_TRY(cx, &f->rd);
        if (f->rd.n == 0) break;
        f->n += f->rd.n;
    }
    f->out[f->n] = 0;
    proc_wait_init(&f->w, f->p);
    AWAIT_TRY(cx, &f->w);
    ASYNC_END();
}

static int talk(talk_t *t, proc_t *p, const char *input) {
    memset(t, 0, sizeof *t);
    future_init(&t->fut, talk_poll, 0);
    t->p = p;
    t->input = input;
    return run1(&t->fut);
}

/* ---- exits, pipes, errors ------------------------------------------------- */

static void test_exit_codes_and_output(void) {
    char *echo[] = {"/bin/echo", "hello", "world", 0};
    char *sh3[] = {"/bin/sh", "-c", "exit 3", 0};
    char *sh255[] = {"sh", "-c", "echo to-err >&2; exit 255", 0}; /* found in PATH */
    proc_t p = {0};
    talk_t t;
    setup();
    CHECK_EQ(spawn3(&p, echo, PROC_NULL, PROC_PIPE, PROC_INHERIT), 0);
    CHECK(proc_id(&p) > 0);
    CHECK(!io_fd_is_open(&p.in) && io_fd_is_open(&p.out) && !io_fd_is_open(&p.err));
    CHECK_EQ(talk(&t, &p, 0), 0);
    CHECK(strcmp(t.out, "hello world\n") == 0);
    CHECK_EQ(t.w.out.code, 0);
    CHECK_EQ(t.w.out.signal, 0);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(proc_id(&p), 0);

    CHECK_EQ(spawn3(&p, sh3, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    CHECK_EQ(talk(&t, &p, 0), 0);
    CHECK_EQ(t.w.out.code, 3);
    CHECK_EQ(t.w.out.signal, 0);
    /* A second wait after the exit: the same status, at once. */
    proc_wait_init(&t.w, &p);
    CHECK_EQ(run1(&t.w.fut), 0);
    CHECK_EQ(t.w.out.code, 3);
    CHECK_EQ(proc_kill(&p, SIGTERM), 0); /* reaped: nothing is sent */
    CHECK_EQ(p.status.code, 3);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(proc_close(&p), 0); /* closed: nothing */

    /* stderr as a pipe, stdout to stderr's pipe too (PROC_FD). */
    CHECK_EQ(spawn3(&p, sh255, PROC_NULL, PROC_PIPE, PROC_PIPE), 0);
    {
        char buf[64];
        talk_t *tt = &t;
        CHECK_EQ(talk(tt, &p, 0), 0);
        CHECK_EQ(tt->w.out.code, 255);
        CHECK_EQ(tt->n, 0);
        /* the stderr pipe holds "to-err\n": the child is gone, read it raw */
        CHECK_EQ(read(io_fd_get(&p.err), buf, sizeof buf), 7);
        CHECK(memcmp(buf, "to-err\n", 7) == 0);
    }
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* A line reader over cat's stdout: what went in comes back, line by line;
 * closing its stdin ends it (code 0). */
typedef struct {
    future_t fut;
    proc_t *p;
    io_write_all_t wr;
    io_reader_t rd;
    io_read_line_t line;
    proc_wait_t w;
    char buf[256];
    char got[256];
} cat_t;

static coro_poll_t cat_poll(future_t *self, future_cx_t *cx) {
    cat_t *f = (cat_t *)(void *)self;
    ASYNC_BEGIN(f);
    io_reader_init(&f->rd, &f->p->out, f->buf, sizeof f->buf);
    io_write_all_init(&f->wr, &f->p->in, "one\ntwo\n", 8);
    AWAIT_TRY(cx, &f->wr);
    io_read_line_init(&f->line, &f->rd, 100); /* cat answers while still running */
    AWAIT_TRY(cx, &f->line);
    strcat(f->got, f->line.data);
    io_read_line_init(&f->line, &f->rd, 100);
    AWAIT_TRY(cx, &f->line);
    strcat(f->got, f->line.data);
    io_write_all_init(&f->wr, &f->p->in, "three\n", 6);
    AWAIT_TRY(cx, &f->wr);
    io_fd_close(&f->p->in); /* its end of input */
    for (;;) {
        io_read_line_init(&f->line, &f->rd, 100);
        AWAIT_TRY(cx, &f->line);
        if (!f->line.data) break;
        strcat(f->got, f->line.data);
    }
    proc_wait_init(&f->w, f->p);
    AWAIT_TRY(cx, &f->w);
    ASYNC_END();
}

static void test_cat_both_ways(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    cat_t c;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_PIPE, PROC_INHERIT), 0);
    memset(&c, 0, sizeof c);
    future_init(&c.fut, cat_poll, 0);
    c.p = &p;
    CHECK_EQ(run1(&c.fut), 0);
    CHECK(strcmp(c.got, "onetwothree") == 0);
    CHECK_EQ(c.w.out.code, 0);
    CHECK_EQ(c.w.out.signal, 0);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

static void test_killed_by_a_signal(void) {
    char *cat[] = {"/bin/cat", 0};
    char *self[] = {"/bin/sh", "-c", "kill -9 $$", 0};
    proc_t p = {0};
    proc_wait_t w;
    pid_t pid;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0); /* waits for input */
    pid = proc_id(&p);
    CHECK_EQ(proc_kill(&p, 0), 0); /* a probe: it is there */
    CHECK_EQ(proc_kill(&p, SIGTERM), 0);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(w.out.code, -1);
    CHECK_EQ(w.out.signal, SIGTERM);
    CHECK(reaped(pid));
    CHECK_EQ(proc_close(&p), 0);

    CHECK_EQ(spawn3(&p, self, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(w.out.code, -1);
    CHECK_EQ(w.out.signal, SIGKILL);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* proc_spawn(o) fails with want and leaves nothing. Under valgrind, whose
 * posix_spawn cannot carry the exec's error back (as some C libraries),
 * a spawn may succeed instead and the child exit with 127. */
static int fails_with(proc_t *p, const proc_opts_t *o, int want) {
    int rc = proc_spawn(p, &ex, o);
#ifdef CHECK_UNDER_VALGRIND
    if (rc == 0) {
        proc_wait_t w;
        proc_wait_init(&w, p);
        /* 127, or 9: valgrind's --error-exitcode, as it checks the copy */
        rc = run1(&w.fut) == 0 && (w.out.code == 127 || w.out.code == 9) ? want : -9999;
        proc_close(p);
    }
#endif
    if (rc != want) printf("    spawn of %s: %d, not %d\n", o->argv[0], rc, want);
    return rc == want && proc_id(p) == 0 && !io_fd_is_open(&p->in) &&
           !io_fd_is_open(&p->out) && !io_fd_is_open(&p->err);
}

static void test_a_program_that_cannot_run(void) {
    char *none[] = {"/nonexistent/weft-prog", 0};
    char *name[] = {"weft-no-such-program-here", 0};
    char *dir[] = {"/tmp", 0};
    char *pwd[] = {"/bin/sh", "-c", "pwd", 0};
    static char saved[8192], lots[5000]; /* (no heap: valgrind checks the
                                              copy a failed exec leaves) */
    const char *path = getenv("PATH");
    char d[64], file[96];
    proc_t p = {0};
    proc_opts_t o;
    int cwd;
    setup();
    snprintf(saved, sizeof saved, "%s", path ? path : "");
    CHECK(mkdtemp(strcpy(d, "/tmp/weft-proc-XXXXXX")) != 0);
    snprintf(file, sizeof file, "%s/weft-plain", d); /* not executable */
    fclose(fopen(file, "w"));
    snprintf(file, sizeof file, "%s/weft-junk", d); /* executable, not a program */
    {
        FILE *f = fopen(file, "w");
        fputs("\177ELF?", f);
        fclose(f);
        chmod(file, 0755);
    }
    memset(&o, 0, sizeof o);
    o.in.how = o.out.how = o.err.how = PROC_PIPE;
    for (cwd = 0; cwd < 2; cwd++) { /* posix_spawn, then (for a cwd) maybe fork */
        o.cwd = cwd ? "/" : 0;
        if (by_sigchld) fault_arm(&f_pidfd, 0, 1, ENOSYS);
        o.argv = none;
        CHECK(fails_with(&p, &o, -ENOENT));
        o.argv = name;
        CHECK(fails_with(&p, &o, -ENOENT));
        o.argv = dir;
        CHECK(fails_with(&p, &o, -EACCES));
        /* PATH: empty entries (the working directory), one too long to
         * try, a directory where the name is not executable: -EACCES */
        memset(lots, 'x', 4999);
        lots[0] = '/';
        lots[4999] = 0;
        snprintf(lots + 4900, 100, "::%s:/nonexistent:", d);
        setenv("PATH", lots, 1);
        o.argv = name;
        CHECK(fails_with(&p, &o, -ENOENT));
        {
            char *plain[] = {"weft-plain", 0};
            o.argv = plain;
            CHECK(fails_with(&p, &o, -EACCES));
        }
        { /* executable, but no program: -ENOEXEC stops the search */
            char *junk[] = {"weft-junk", 0};
            o.argv = junk;
            CHECK(fails_with(&p, &o, -ENOEXEC));
            o.argv = none;
            o.envp = junk; /* an environment given, to a program not there */
            CHECK(fails_with(&p, &o, -ENOENT));
            o.envp = 0;
        }
        unsetenv("PATH"); /* the default: /bin:/usr/bin */
        o.argv = name;
        CHECK(fails_with(&p, &o, -ENOENT));
        if (path) setenv("PATH", saved, 1);
    }
    o.argv = pwd;
    o.cwd = "/nonexistent/weft-dir";
    CHECK(fails_with(&p, &o, -ENOENT)); /* the chdir's error */
    CHECK_EQ(proc_close(&p), 0); /* closed already: nothing */
    snprintf(file, sizeof file, "%s/weft-plain", d);
    CHECK_EQ(unlink(file), 0);
    snprintf(file, sizeof file, "%s/weft-junk", d);
    CHECK_EQ(unlink(file), 0);
    CHECK_EQ(rmdir(d), 0);
    TEARDOWN();
}

static void test_cwd_and_env(void) {
    char *sh[] = {"/bin/sh", "-c", "pwd; echo \"$WEFT_X-${HOME:-nohome}\"", 0};
    char *bare[] = {"env", 0}; /* PATH search in the parent's PATH, empty env */
    char *envp[] = {"WEFT_X=forty-two", 0};
    char *empty[] = {0};
    char d[64], want[PATH_MAX + 64], real[PATH_MAX];
    proc_t p = {0};
    proc_opts_t o;
    talk_t t;
    setup();
    CHECK(mkdtemp(strcpy(d, "/tmp/weft-proc-XXXXXX")) != 0);
    CHECK(realpath(d, real) != 0);
    memset(&o, 0, sizeof o);
    o.argv = sh;
    o.envp = envp;
    o.cwd = d;
    o.out.how = PROC_PIPE;
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    CHECK_EQ(talk(&t, &p, 0), 0);
    snprintf(want, sizeof want, "%s\nforty-two-nohome\n", real);
    CHECK(strcmp(t.out, want) == 0);
    CHECK_EQ(proc_close(&p), 0);
    /* Inherited: the parent's environment. */
    setenv("WEFT_X", "inherited", 1);
    o.envp = 0;
    o.cwd = 0;
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    CHECK_EQ(talk(&t, &p, 0), 0);
    CHECK(strstr(t.out, "inherited-") != 0);
    CHECK_EQ(proc_close(&p), 0);
    unsetenv("WEFT_X");
    o.argv = bare;
    o.envp = empty;
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    CHECK_EQ(talk(&t, &p, 0), 0);
    CHECK_EQ(t.n, 0); /* an empty environment: env prints nothing */
    CHECK_EQ(t.w.out.code, 0);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(rmdir(d), 0);
    TEARDOWN();
}

/* ---- signals and fds in the child ------------------------------------------ */

/* The child's SigBlk and SigIgn lines, from /proc/self/status (grep's own:
 * it is the child). "" off Linux. */
static int child_sig_lines(const char *cwd, char *out, size_t cap) {
    char *grep[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", 0};
    proc_t p = {0};
    proc_opts_t o;
    talk_t t;
    int rc;
    memset(&o, 0, sizeof o);
    o.argv = grep;
    o.cwd = cwd;
    o.out.how = PROC_PIPE;
    if (by_sigchld) fault_arm(&f_pidfd, 0, 1, ENOSYS);
    if ((rc = proc_spawn(&p, &ex, &o)) < 0) return rc;
    rc = talk(&t, &p, 0);
    t.n = t.n < cap ? t.n : cap - 1;
    memcpy(out, t.out, t.n);
    out[t.n] = 0;
    proc_close(&p);
    return rc;
}

/* SigBlk and SigIgn show no signal of the application's: 1..31 and
 * SIGRTMIN.. (glibc's posix_spawn leaves its own two, 32 and 33, which it
 * keeps from every program, ignored: not ours to check). */
static int clean(const char *lines) {
    unsigned long long blk, ign, mask = 0;
    int sig;
    if (sscanf(lines, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk, &ign) != 2) return 0;
    for (sig = 1; sig <= 64; sig++)
        if (sig < 32 || sig >= SIGRTMIN) mask |= 1ull << (sig - 1);
    if ((blk | ign) & mask) printf("    SigBlk %llx, SigIgn %llx\n", blk, ign);
    return ((blk | ign) & mask) == 0;
}

static void test_the_child_starts_with_clean_signals(void) {
    struct sigaction ign, old_usr2, old_hup, old_rt;
    sigset_t blk, old_mask;
    io_signal_t term;
    char got[256];
    setup();
    /* Blocked here, ignored here, and watched by an io_signal_t. */
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigaddset(&blk, SIGINT);
    sigaddset(&blk, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &blk, &old_mask);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &ign, &old_usr2);
    sigaction(SIGHUP, &ign, &old_hup);
    sigaction(SIGRTMIN + 2, &ign, &old_rt);
    CHECK_EQ(io_signal_open(&term, &ex, 0), 0); /* SIGINT, SIGTERM */
    CHECK_EQ(child_sig_lines(0, got, sizeof got), 0);
    CHECK(clean(got));
    CHECK_EQ(child_sig_lines("/", got, sizeof got), 0); /* IO_PORTABLE: fork */
    CHECK(clean(got));
    io_signal_close(&term);
    sigaction(SIGUSR2, &old_usr2, 0);
    sigaction(SIGHUP, &old_hup, 0);
    sigaction(SIGRTMIN + 2, &old_rt, 0);
    pthread_sigmask(SIG_SETMASK, &old_mask, 0);
    TEARDOWN();
}

/* From a pool thread (which blocks every signal): spawned there, with no
 * executor (no pipe: stdout is a pipe of the test's, PROC_FD), and
 * waited for on the loop. */
typedef struct {
    proc_t *p;
    char *const *argv;
    const char *cwd;
    int out;
} from_pool_t;

static int64_t spawn_job(void *arg, blocking_job_t *job) {
    from_pool_t *a = (from_pool_t *)arg;
    proc_opts_t o;
    (void)job;
    memset(&o, 0, sizeof o);
    o.argv = a->argv;
    o.cwd = a->cwd;
    o.out.how = PROC_FD;
    o.out.fd = a->out;
    if (by_sigchld) fault_arm(&f_pidfd, 0, 1, ENOSYS);
    return proc_spawn(a->p, 0, &o);
}

static void test_spawned_from_a_pool_thread(void) {
    char *grep[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", 0};
    blocking_pool_t pool;
    blocking_t job;
    from_pool_t a;
    proc_t p = {0};
    proc_wait_t w;
    char got[256];
    ssize_t n;
    int pp[2], round;
    setup();
    CHECK_EQ(blocking_pool_init(&pool, &ex, 0), 0);
    for (round = 0; round < 2; round++) {
        CHECK_EQ(pipe2(pp, O_CLOEXEC), 0);
        a.p = &p;
        a.argv = grep;
        a.cwd = round ? "/" : 0;
        a.out = pp[1];
        blocking_init(&job, &pool, spawn_job, &a);
        CHECK_EQ(run1(&job.fut), 0);
        CHECK_EQ(job.out, 0);
        close(pp[1]);
        proc_wait_init(&w, &p);
        CHECK_EQ(run1(&w.fut), 0);
        CHECK_EQ(w.out.code, 0);
        n = read(pp[0], got, sizeof got - 1);
        close(pp[0]);
        CHECK(n > 0);
        got[n] = 0;
        CHECK(clean(got));
        CHECK_EQ(proc_close(&p), 0);
    }
    blocking_pool_destroy(&pool);
    TEARDOWN();
}

/* The child has fds 0, 1, 2 and nothing else of ours (ls's own directory
 * fd is the 3). */
static void test_no_fd_leaks_into_the_child(void) {
    char *ls[] = {"ls", "/proc/self/fd", 0};
    proc_t p = {0}, q = {0};
    talk_t t;
    setup();
    CHECK_EQ(spawn3(&q, ls, PROC_PIPE, PROC_PIPE, PROC_PIPE), 0); /* more fds of ours */
    CHECK_EQ(spawn3(&p, ls, PROC_NULL, PROC_PIPE, PROC_NULL), 0);
    CHECK_EQ(talk(&t, &p, 0), 0);
    if (strcmp(t.out, "0\n1\n2\n3\n")) printf("    ls /proc/self/fd: %s", t.out);
    CHECK(strcmp(t.out, "0\n1\n2\n3\n") == 0);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(talk(&t, &q, 0), 0);
    CHECK_EQ(proc_close(&q), 0);
    TEARDOWN();
}

/* PROC_FD: the child writes into the caller's fd, which stays open; a
 * given fd may be 0..2 (it is moved out of the way first). */
static void test_given_fds(void) {
    char *sh[] = {"/bin/sh", "-c", "read x; echo \"got $x\"; echo err >&2", 0};
    proc_t p = {0};
    proc_opts_t o;
    talk_t t;
    char buf[64];
    ssize_t n;
    int out[2], in[2], saved0;
    setup();
    CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
    CHECK_EQ(write(in[1], "abc\n", 4), 4);
    close(in[1]);
    memset(&o, 0, sizeof o);
    o.argv = sh;
    /* stdin from a pipe that sits at fd 0 here, stdout and stderr to one fd */
    saved0 = dup(0);
    CHECK_EQ(dup2(in[0], 0), 0);
    close(in[0]);
    o.in.how = PROC_FD;
    o.in.fd = 0;
    o.out.how = PROC_FD;
    o.out.fd = out[1];
    o.err.how = PROC_FD;
    o.err.fd = out[1];
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    CHECK_EQ(dup2(saved0, 0), 0);
    close(saved0);
    CHECK(fcntl(out[1], F_GETFD) >= 0); /* still the caller's */
    close(out[1]);
    CHECK_EQ(talk(&t, &p, 0), 0);
    CHECK_EQ(t.w.out.code, 0);
    n = read(out[0], buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = 0;
    CHECK(strcmp(buf, "got abc\nerr\n") == 0);
    close(out[0]);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* PROC_FD with an fd an io_fd_t holds (non-blocking): another child's
 * pipe, a socket. The child's copies are blocking (it would read EAGAIN
 * otherwise); the pipe was opened again for it, so the caller's end stays
 * non-blocking; the socket's one open file was made blocking. */
static int nonblocking_in(const char *fdinfo, int which) {
    const char *at = fdinfo;
    unsigned long fl;
    while (which-- >= 0) {
        if (!(at = strstr(at, "flags:"))) return -1;
        at += 6;
    }
    fl = strtoul(at, 0, 8);
    return (fl & O_NONBLOCK) != 0;
}
static void test_given_fds_are_blocking(void) {
    char *cat[] = {"/bin/cat", 0};
    char *flags[] = {"/bin/sh", "-c", "grep ^flags /proc/self/fdinfo/0 /proc/self/fdinfo/2", 0};
    proc_t a = {0}, b = {0};
    io_fd_t s1, s2;
    proc_opts_t o;
    talk_t t;
    setup();
    CHECK_EQ(spawn3(&a, cat, PROC_PIPE, PROC_PIPE, PROC_NULL), 0);
    CHECK_EQ(io_socketpair(&s1, &s2, &ex, SOCK_STREAM), 0);
    memset(&o, 0, sizeof o);
    o.argv = flags;
    o.in.how = PROC_FD;
    o.in.fd = io_fd_get(&a.out); /* cat's output, read by the child */
    o.out.how = PROC_PIPE;
    o.err.how = PROC_FD;
    o.err.fd = io_fd_get(&s1);
    CHECK_EQ(proc_spawn(&b, &ex, &o), 0);
    CHECK_EQ(talk(&t, &b, 0), 0);
    CHECK_EQ(t.w.out.code, 0);
    CHECK_EQ(nonblocking_in(t.out, 0), 0); /* the pipe, opened again */
    CHECK_EQ(nonblocking_in(t.out, 1), 0); /* the socket */
    CHECK(fcntl(io_fd_get(&a.out), F_GETFL) & O_NONBLOCK); /* ours as it was */
    CHECK_EQ(proc_close(&b), 0);
    /* The pipe cannot be opened again (no fd left, no /proc): its one
     * open file is made blocking, as the socket's. */
    fault_arm(&f_open, 0, 1, EMFILE);
    CHECK_EQ(proc_spawn(&b, &ex, &o), 0);
    faults_off();
    CHECK_EQ(talk(&t, &b, 0), 0);
    CHECK_EQ(nonblocking_in(t.out, 0), 0);
    CHECK(!(fcntl(io_fd_get(&a.out), F_GETFL) & O_NONBLOCK));
    CHECK_EQ(proc_close(&b), 0);
    /* And a child reading another child's output waits for it: */
    o.argv = cat;
    o.err.how = PROC_NULL;
    CHECK_EQ(proc_spawn(&b, &ex, &o), 0);
    io_fd_close(&a.out); /* b has its own */
    CHECK_EQ(talk(&t, &a, "hello\n"), 0); /* a's input, then its end */
    CHECK_EQ(talk(&t, &b, 0), 0);
    CHECK(strcmp(t.out, "hello\n") == 0);
    CHECK_EQ(t.w.out.code, 0);
    CHECK_EQ(proc_close(&a), 0);
    CHECK_EQ(proc_close(&b), 0);
    io_fd_close(&s1);
    io_fd_close(&s2);
    TEARDOWN();
}

/* The memory figures proc.h's opening comment gives (x86-64, glibc). */
static void test_memory_figures_as_documented(void) {
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(__ILP32__)
#if defined(IO_PORTABLE) && defined(EXEC_BACKEND_POLL)
    CHECK_EQ(sizeof(proc_t), 1784);
#elif defined(IO_PORTABLE)
    CHECK_EQ(sizeof(proc_t), 1704);
#elif defined(EXEC_BACKEND_POLL)
    CHECK_EQ(sizeof(proc_t), 616);
    CHECK_EQ(sizeof(io_signal_t), 320);
#else
    CHECK_EQ(sizeof(proc_t), 536);
    CHECK_EQ(sizeof(io_signal_t), 304);
#endif
    CHECK_EQ(sizeof(proc_wait_t), 160);
    CHECK_EQ(sizeof(proc_opts_t), 48);
#endif
}

/* ---- drops, close, detach ------------------------------------------------- */

/* The wait dropped where it waits (the pidfd, or SIGCHLD), then again,
 * then closing the proc_t kills and reaps the child: no zombie, no fd. */
static void test_drop_the_wait_then_close(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_wait_t w;
    pid_t pid;
    int i;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_PIPE, PROC_NULL), 0);
    pid = proc_id(&p);
    for (i = 0; i < 3; i++) {
        proc_wait_init(&w, &p);
        CHECK_EQ(race(&w.fut, 5), 1); /* still waiting: dropped */
        CHECK(p.waiter == 0);
        CHECK(!io_fd_is_open(&p.chld.fd)); /* the SIGCHLD handle went with it */
        CHECK_EQ(io_fd_is_open(&p.pidf), p.pidfd >= 0);
    }
    CHECK_EQ(proc_kill(&p, 0), 0); /* alive */
    CHECK_EQ(proc_close(&p), 0);   /* killed and reaped */
    CHECK(reaped(pid));
    TEARDOWN();
}

/* Dropped, then the child ends: a new wait sees its exit. */
static void test_drop_the_wait_then_wait_again(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_wait_t w;
    pid_t pid;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    pid = proc_id(&p);
    proc_wait_init(&w, &p);
    CHECK_EQ(race(&w.fut, 5), 1);
    io_fd_close(&p.in); /* cat ends */
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(w.out.code, 0);
    CHECK(reaped(pid));
    CHECK_EQ(proc_close(&p), 0);
    /* Closed without a wait at all, running: killed and reaped. */
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    pid = proc_id(&p);
    CHECK_EQ(proc_close(&p), 0);
    CHECK(reaped(pid));
    /* Exited and never waited for: close reaps it. */
    CHECK_EQ(spawn3(&p, cat, PROC_NULL, PROC_NULL, PROC_NULL), 0); /* ends at once */
    pid = proc_id(&p);
    while (kill(pid, 0) == 0) { /* until it is a zombie (safety: alarm) */
        char st[64], buf[512];
        FILE *f;
        snprintf(st, sizeof st, "/proc/%d/stat", (int)pid);
        if (!(f = fopen(st, "r"))) break;
        buf[0] = 0;
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
        if (strstr(buf, ") Z ")) break;
        sched_yield();
    }
    CHECK_EQ(proc_close(&p), 0);
    CHECK(reaped(pid));
    TEARDOWN();
}

/* Closing the proc_t under a waiting wait: it finishes with -EBADF. */
static void test_close_while_waiting(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_wait_t w;
    exec_task_t t = {0};
    timer_sleep_t s;
    pid_t pid;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    pid = proc_id(&p);
    proc_wait_init(&w, &p);
    exec_spawn(&t, &ex, &w.fut);
    timer_sleep_init(&s, TIMER_MS);
    CHECK_EQ(run1(&s.fut), 0); /* the wait parks */
    CHECK(p.waiter == &w);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&w.fut), -EBADF);
    CHECK(reaped(pid));
    TEARDOWN();
}

/* Someone else reaped it: -ECHILD, a value. */
static void test_reaped_behind_our_back(void) {
    char *sh[] = {"/bin/sh", "-c", "exit 7", 0};
    proc_t p = {0};
    proc_wait_t w;
    setup();
    CHECK_EQ(spawn3(&p, sh, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    CHECK_EQ(waitpid(proc_id(&p), 0, 0), proc_id(&p));
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), -ECHILD);
    CHECK(!io_fd_is_open(&p.chld.fd));
    /* The pid may be another process's now: never signalled again, and
     * a second wait says the same. */
    CHECK_EQ(proc_kill(&p, SIGKILL), 0);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), -ECHILD);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* A detached child outlives its proc_t, and the reaper reaps it. */
static void test_detached_child_is_reaped_later(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_opts_t o;
    proc_wait_t w;
    pid_t pid;
    int in[2], i;
    setup();
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0); /* (else cat would hold its own input open) */
    memset(&o, 0, sizeof o);
    o.argv = cat;
    o.in.how = PROC_FD;
    o.in.fd = in[0];
    o.out.how = PROC_NULL;
    if (by_sigchld) fault_arm(&f_pidfd, 0, 1, ENOSYS);
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    close(in[0]);
    pid = proc_id(&p);
    CHECK_EQ(proc_detach(&p), 0);
    proc_wait_init(&w, &p); /* still waitable: dropped while it waits */
    CHECK_EQ(race(&w.fut, 5), 1);
    fault_arm(&f_thread, 0, 1, EAGAIN);
    CHECK_EQ(proc_close(&p), -EAGAIN); /* no reaper: still open */
    CHECK_EQ(proc_id(&p), pid);
    CHECK_EQ(proc_close(&p), 0);
    CHECK_EQ(proc_id(&p), 0);
    CHECK_EQ(kill(pid, 0), 0); /* running on */
    close(in[1]);              /* now cat ends, and the reaper reaps it */
    for (i = 0; i < 20000 && !reaped(pid); i++) {
        struct timespec ts = {0, 500000};
        nanosleep(&ts, 0);
    }
    CHECK(reaped(pid));
    {   /* and lets its thread end before the leak check */
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, 0);
    }
    /* Detached and exited before close: close reaps it itself. */
    CHECK_EQ(spawn3(&p, cat, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    pid = proc_id(&p);
    CHECK_EQ(proc_detach(&p), 0);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(proc_close(&p), 0);
    CHECK(reaped(pid));
    TEARDOWN();
}

/* Several children waited for at once (pidfds; or SIGCHLD without
 * signalfd: every handle gets every SIGCHLD). */
typedef struct {
    future_t fut;
    proc_wait_t w[3];
} three_t;

static coro_poll_t three_poll(future_t *self, future_cx_t *cx) {
    three_t *f = (three_t *)(void *)self;
    ASYNC_BEGIN(f);
    JOIN(cx, &f->w[0], &f->w[1], &f->w[2]);
    ASYNC_END();
}

static void test_three_children_at_once(void) {
    char *a[] = {"/bin/sh", "-c", "exit 1", 0};
    char *b[] = {"/bin/sh", "-c", "read x; exit 2", 0};
    char *c[] = {"/bin/sh", "-c", "exit 3", 0};
    proc_t p[3];
    three_t t;
    int i;
    setup();
    memset(p, 0, sizeof p);
    CHECK_EQ(spawn3(&p[0], a, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    CHECK_EQ(spawn3(&p[1], b, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    CHECK_EQ(spawn3(&p[2], c, PROC_NULL, PROC_NULL, PROC_NULL), 0);
    CHECK_EQ(write(io_fd_get(&p[1].in), "\n", 1), 1);
    future_init(&t.fut, three_poll, 0);
    for (i = 0; i < 3; i++) proc_wait_init(&t.w[i], &p[i]);
    CHECK_EQ(run1(&t.fut), 0);
    for (i = 0; i < 3; i++) {
        CHECK_EQ(t.w[i].out.code, i + 1);
        CHECK_EQ(proc_close(&p[i]), 0);
    }
    TEARDOWN();
}

/* A pidfd that says readable while the child runs (it never does; the
 * wait must not spin on it): the wait clears the bit and waits on. */
static void test_a_spurious_wake_does_not_spin(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_wait_t w;
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    proc_wait_init(&w, &p);
    CHECK_EQ(race(&w.fut, 5), 1); /* registers the pidfd */
    if (io_fd_is_open(&p.pidf)) {
        p.pidf.io.ready |= EXEC_IO_READ;
        proc_wait_init(&w, &p);
        CHECK_EQ(race(&w.fut, 5), 1);
        CHECK(!(p.pidf.io.ready & EXEC_IO_READ));
    }
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* Waiting on SIGCHLD for A while B (on a pidfd) exits: A's wait wakes,
 * finds A running, and waits on; then A ends and its wait sees it. */
typedef struct then {
    future_t fut;
    struct two *t;
} then_t;

typedef struct two {
    future_t fut;
    proc_t *a, *b;
    proc_wait_t wa, wb;
    then_t th;
} two_t;

static coro_poll_t then_poll(future_t *self, future_cx_t *cx) {
    then_t *f = (then_t *)(void *)self;
    ASYNC_BEGIN(f);
    io_fd_close(&f->t->b->in); /* B ends: a SIGCHLD that is not A's */
    proc_wait_init(&f->t->wb, f->t->b);
    AWAIT_TRY(cx, &f->t->wb);
    io_fd_close(&f->t->a->in); /* now A */
    ASYNC_END();
}

static coro_poll_t two_poll(future_t *self, future_cx_t *cx) {
    two_t *f = (two_t *)(void *)self;
    ASYNC_BEGIN(f);
    proc_wait_init(&f->wa, f->a);
    future_init(&f->th.fut, then_poll, 0);
    f->th.t = f;
    JOIN(cx, &f->wa, &f->th);
    ASYNC_END();
}

static void test_a_sigchld_that_is_not_ours(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t a = {0}, b = {0};
    two_t t;
    setup();
    fault_arm(&f_pidfd, 0, 1, ENOSYS);
    CHECK_EQ(proc_spawn(&a, &ex, &(proc_opts_t){cat, 0, 0, {PROC_PIPE, 0}, {PROC_NULL, 0},
                                                {PROC_NULL, 0}}),
             0);
    CHECK(a.pidfd < 0);
    CHECK_EQ(proc_spawn(&b, &ex, &(proc_opts_t){cat, 0, 0, {PROC_PIPE, 0}, {PROC_NULL, 0},
                                                {PROC_NULL, 0}}),
             0);
    memset(&t, 0, sizeof t);
    future_init(&t.fut, two_poll, 0);
    t.a = &a;
    t.b = &b;
    CHECK_EQ(run1(&t.fut), 0);
    CHECK_EQ(t.wa.out.code, 0);
    CHECK_EQ(t.wb.out.code, 0);
    CHECK_EQ(proc_close(&a), 0);
    CHECK_EQ(proc_close(&b), 0);
    TEARDOWN();
}

/* ---- misuse, descriptions, failures ------------------------------------- */

static void test_misuse_is_reported(void) {
    char *cat[] = {"/bin/cat", 0};
    char *noprog[] = {0};
    proc_t p = {0}, never = {0};
    proc_opts_t o;
    proc_wait_t w1, w2;
    exec_task_t t = {0};
    setup();
    memset(&o, 0, sizeof o);
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, &ex, &o), -EINVAL), "no program");
    o.argv = noprog;
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, &ex, &o), -EINVAL), "no program");
    o.argv = cat;
    o.out.how = PROC_PIPE;
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, 0, &o), -EINVAL), "PROC_PIPE needs");
    o.out.how = 9;
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, &ex, &o), -EINVAL), ".how");
    o.out.how = -1;
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, &ex, &o), -EINVAL), ".how");
    o.out.how = PROC_NULL;
    o.in.how = PROC_PIPE;
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    CHECK_MISUSE(CHECK_EQ(proc_spawn(&p, &ex, &o), -EBUSY), "has a child already");
    CHECK_EQ(proc_kill(&p, 12345), -EINVAL); /* no such signal: the kill's error */
    /* Two waits at once. */
    proc_wait_init(&w1, &p);
    exec_spawn(&t, &ex, &w1.fut);
    proc_wait_init(&w2, &p);
    CHECK_MISUSE(CHECK_EQ(run1(&w2.fut), -EBUSY), "two proc_wait_t");
    CHECK(p.waiter == &w1); /* the first one still waits */
    io_fd_close(&p.in);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&w1.fut), 0);
    CHECK_EQ(proc_close(&p), 0);
    /* No child. */
    proc_wait_init(&w1, &never);
    CHECK_MISUSE(CHECK_EQ(run1(&w1.fut), -EINVAL), "no child");
    CHECK_MISUSE(CHECK_EQ(proc_kill(&never, SIGTERM), -EINVAL), "no child");
    CHECK_MISUSE(CHECK_EQ(proc_detach(&never), -EINVAL), "no child");
    TEARDOWN();
}

static char said_buf[256];
static const char *said(const proc_wait_t *w) {
    future_fmt_t o = {said_buf, sizeof said_buf, 0, 0, 0};
    said_buf[0] = 0;
    proc_wait_describe_(&w->fut, &o);
    return said_buf;
}

static void test_what_a_waiting_wait_says(void) {
    char *cat[] = {"/bin/cat", 0};
    proc_t p = {0};
    proc_wait_t w;
    exec_task_t t = {0};
    timer_sleep_t s;
    char want[128];
    setup();
    CHECK_EQ(spawn3(&p, cat, PROC_PIPE, PROC_NULL, PROC_NULL), 0);
    proc_wait_init(&w, &p);
    exec_spawn(&t, &ex, &w.fut);
    timer_sleep_init(&s, TIMER_MS);
    CHECK_EQ(run1(&s.fut), 0);
    if (p.pidfd < 0) snprintf(want, sizeof want, "pid %d (SIGCHLD)", (int)proc_id(&p));
    else snprintf(want, sizeof want, "pid %d (pidfd %d)", (int)proc_id(&p), io_fd_get(&p.pidf));
    CHECK(strcmp(said(&w), want) == 0);
    CHECK(strcmp(future_kind_of_(&w.fut)->name, "proc wait") == 0);
    io_fd_close(&p.in);
    CHECK_EQ(exec_run(&ex), 0);
    CHECK_EQ(future_err(&w.fut), 0);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* Each step of a spawn that can fail leaves nothing: no child, no fd. */
static void test_spawn_failures_leave_nothing(void) {
    char *cat[] = {"/bin/cat", 0};
    char *echo[] = {"/bin/echo", 0};
    proc_t p = {0};
    proc_opts_t o;
    proc_wait_t w;
    int k, saved0;
    setup();
    memset(&o, 0, sizeof o);
    o.argv = cat;
    o.in.how = o.out.how = o.err.how = PROC_PIPE;
    for (k = 0; k < 3; k++) { /* each pipe */
        fault_arm(&f_pipe, k, 1, EMFILE);
        CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
        CHECK_EQ(proc_id(&p), 0);
    }
    for (k = 0; k < 3; k++) { /* registering each pipe */
        fault_arm(&f_register, POLLED_ ? 2 * k + 1 : k, 1, ENOMEM);
        CHECK_EQ(proc_spawn(&p, &ex, &o), -ENOMEM);
    }
    fault_arm(&f_adddup2, 0, 1, ENOMEM);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -ENOMEM);
    fault_arm(&f_attr, 0, 1, ENOMEM);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -ENOMEM);
    fault_arm(&f_fainit, 0, 1, ENOMEM);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -ENOMEM);
    o.err.how = PROC_FD;
    o.err.fd = 2;
    fault_arm(&f_dupfd, 0, 1, EMFILE); /* the copy of the given fd */
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
    o.err.how = PROC_NULL;
    fault_arm(&f_open, 0, 1, ENFILE); /* /dev/null */
    CHECK_EQ(proc_spawn(&p, &ex, &o), -ENFILE);
    /* With fd 0 closed, new fds land on 0 and are moved up (F_DUPFD):
     * that can fail too, for /dev/null, for either end of a pipe. */
    saved0 = dup(0);
    close(0);
    o.in.how = PROC_NULL;
    fault_arm(&f_dupfd, 0, 1, EMFILE);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
    CHECK(fcntl(0, F_GETFD) < 0);
    o.in.how = PROC_PIPE; /* pipe() gives 0 (the child's end) and 3+ */
    fault_arm(&f_dupfd, 0, 1, EMFILE);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
    CHECK(fcntl(0, F_GETFD) < 0);
    o.in.how = PROC_NULL;
    o.out.how = PROC_PIPE; /* stdout: pipe() gives 0 to our (read) end */
    fault_arm(&f_dupfd, 1, 1, EMFILE); /* (after stdin's /dev/null moved) */
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
    CHECK(fcntl(0, F_GETFD) < 0);
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0); /* and without a fault it works */
    CHECK_EQ(proc_close(&p), 0); /* (its pidfd may have been the 0) */
    CHECK(fcntl(0, F_GETFD) < 0);
    CHECK_EQ(dup2(saved0, 0), 0);
    close(saved0);
    /* The fork path: posix_spawn refuses the cwd (or cannot take one). */
    o.in.how = o.out.how = PROC_PIPE;
    o.cwd = "/";
    fault_arm(&f_chdir, 0, -1, ENOSYS);
    fault_arm(&f_pipe, 2, 1, EMFILE); /* fork's error pipe, after the two */
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EMFILE);
    fault_arm(&f_fork, 0, 1, EAGAIN);
    CHECK_EQ(proc_spawn(&p, &ex, &o), -EAGAIN);
    faults_off();
    o.cwd = 0;
    /* Registering the pidfd at the first wait fails: the wait's error,
     * and the next wait works. The child (cat) lives until its stdin
     * closes: one that may have exited already (echo) would let the wait
     * reap it without registering anything. */
    o.argv = cat;
    o.in.how = PROC_PIPE;
    o.out.how = PROC_NULL;
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    if (p.pidfd >= 0) {
        fault_arm(&f_register, POLLED_ ? 1 : 0, 1, ENOMEM);
        proc_wait_init(&w, &p);
        CHECK_EQ(run1(&w.fut), -ENOMEM);
    }
    io_fd_close(&p.in);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(proc_close(&p), 0);
    /* The SIGCHLD handle cannot be opened: the wait's error. It opens
     * before the first look for an exit, so the child may be gone. */
    o.argv = echo;
    o.in.how = PROC_NULL;
    fault_arm(&f_pidfd, 0, 1, ENOSYS);
    CHECK_EQ(proc_spawn(&p, &ex, &o), 0);
    fault_arm(&f_register, 0, 1, ENOMEM);
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), -ENOMEM);
    CHECK(!io_fd_is_open(&p.chld.fd));
    proc_wait_init(&w, &p);
    CHECK_EQ(run1(&w.fut), 0);
    CHECK_EQ(proc_close(&p), 0);
    TEARDOWN();
}

/* ---- each test both ways ---------------------------------------------------- */

int main(void) {
    int round, rounds = 1, fd;
    /* The fds this process was given by whoever started it are theirs:
     * close-on-exec, so that any fd a child sees is one proc.h let in. */
    for (fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    }
    alarm(300); /* a safety net against a hang, never a measure */
#ifdef PROC_PIDFD_
    rounds = 2; /* pidfd, then pidfd_open failing: SIGCHLD */
    fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd >= 0) close(fd);
    else pidfd_missing = 1; /* (valgrind does not know it) */
#else
    by_sigchld = pidfd_missing = 1;
#endif
    for (round = 0; round < rounds; round++) {
        if (round) by_sigchld = forking = 1; /* and a cwd by fork */
        printf("-- waits by %s%s\n", by_sigchld ? "SIGCHLD" : "pidfd",
               forking ? ", a cwd by fork" : "");
        RUN(test_exit_codes_and_output);
        RUN(test_cat_both_ways);
        RUN(test_killed_by_a_signal);
        RUN(test_a_program_that_cannot_run);
        RUN(test_cwd_and_env);
        RUN(test_the_child_starts_with_clean_signals);
        RUN(test_spawned_from_a_pool_thread);
        RUN(test_no_fd_leaks_into_the_child);
        RUN(test_given_fds);
    RUN(test_given_fds_are_blocking);
    RUN(test_memory_figures_as_documented);
        RUN(test_drop_the_wait_then_close);
        RUN(test_drop_the_wait_then_wait_again);
        RUN(test_close_while_waiting);
        RUN(test_reaped_behind_our_back);
        RUN(test_detached_child_is_reaped_later);
        /* SIGCHLD through a signalfd goes to one reader: one at a time */
#if !defined(IO_SIGNALFD_)
        RUN(test_three_children_at_once);
#else
        if (!by_sigchld && !pidfd_missing) RUN(test_three_children_at_once);
#endif
        RUN(test_a_spurious_wake_does_not_spin);
#if !defined(IO_SIGNALFD_)
        RUN(test_a_sigchld_that_is_not_ours); /* every handle gets each SIGCHLD */
#else
        if (!pidfd_missing) RUN(test_a_sigchld_that_is_not_ours); /* B on a pidfd */
#endif
        RUN(test_misuse_is_reported);
        RUN(test_what_a_waiting_wait_says);
        RUN(test_spawn_failures_leave_nothing);
    }
    return check_summary();
}
