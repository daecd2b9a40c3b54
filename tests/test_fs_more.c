/* Tests of fs.h beyond whole files: metadata (stat / lstat), rename,
 * remove, remove_dir, mkdir, mkdir_all, and the directory stream
 * (fs_dir_t), each also dropped at every point where it waits.
 *
 * Everything happens in a mkdtemp directory, removed at the end. A few libc
 * calls that fs.h makes are renamed to wrappers here (as in
 * test_cover_fs.c: after every system header, before fs.h), so that a test
 * can fail one (fault.h), or hold one until the job's stop flag is up (the
 * future was dropped while its job ran), and so that open directories are
 * counted: every opendir must meet its closedir.
 */
#include "check.h"
#include "fault.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- the wrappers ------------------------------------------------------- */

static fault_t f_opendir, f_readdir, f_mkdir, f_stat, f_unlink;
static int dirs_open;          /* opendir minus closedir (atomic) */
static int hold;               /* the hold-th held call from now waits for
                                  the stop flag (0: none) */
static int held;               /* a call is waiting there (atomic) */
static const int *hold_stop;   /* the flag it waits for: the job's stop_ */
static int long_name;          /* readdir hands out a name too long once */

static void pause_a_little(void) {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, 0);
}

/* With `hold` armed, the call waits until the future was dropped (its job's
 * stop flag is up), then goes on: the job runs on after the drop began. */
static void maybe_hold(void) {
    int i;
    if (__atomic_load_n(&hold, __ATOMIC_SEQ_CST) <= 0) return;
    if (__atomic_sub_fetch(&hold, 1, __ATOMIC_SEQ_CST) != 0) return;
    __atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 100000; i++) {
        const int *stop = __atomic_load_n(&hold_stop, __ATOMIC_SEQ_CST);
        if (stop && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) break;
        pause_a_little();
    }
}

static DIR *t_opendir(const char *path) {
    DIR *d;
    if (fault_hit(&f_opendir)) return 0;
    d = opendir(path);
    if (d) __atomic_add_fetch(&dirs_open, 1, __ATOMIC_SEQ_CST);
    return d;
}

static struct dirent *t_readdir(DIR *d) {
    static union {
        struct dirent e;
        char room[sizeof(struct dirent) + NAME_MAX + 64];
    } fake;
    maybe_hold();
    if (fault_hit(&f_readdir)) return 0;
    if (__atomic_exchange_n(&long_name, 0, __ATOMIC_SEQ_CST)) {
        char *name = fake.room + offsetof(struct dirent, d_name);
        memset(name, 'n', NAME_MAX + 1);
        name[NAME_MAX + 1] = 0;
        return &fake.e;
    }
    return readdir(d);
}

static int t_closedir(DIR *d) {
    __atomic_sub_fetch(&dirs_open, 1, __ATOMIC_SEQ_CST);
    return closedir(d);
}

static int t_mkdir(const char *path, mode_t mode) {
    maybe_hold();
    if (fault_hit(&f_mkdir)) return -1;
    return mkdir(path, mode);
}

static int t_unlink(const char *path) {
    maybe_hold();
    if (fault_hit(&f_unlink)) return -1;
    return unlink(path);
}

static int t_stat(const char *path, struct stat *st) {
    if (fault_hit(&f_stat)) return -1;
    return stat(path, st);
}

#define opendir(p) t_opendir(p)
#define readdir(d) t_readdir(d)
#define closedir(d) t_closedir(d)
#define mkdir(p, m) t_mkdir(p, m)
#define unlink(p) t_unlink(p)
#define stat(p, st) t_stat(p, st)

#include "../fs.h"

#undef opendir
#undef readdir
#undef closedir
#undef mkdir
#undef unlink
#undef stat

/* ---- set-up --------------------------------------------------------------- */

static exec_t ex;
static blocking_pool_t pool;
static char top[64];
static int fds_at_start;

static void faults_off(void) {
    memset(&f_opendir, 0, sizeof f_opendir);
    memset(&f_readdir, 0, sizeof f_readdir);
    memset(&f_mkdir, 0, sizeof f_mkdir);
    memset(&f_stat, 0, sizeof f_stat);
    memset(&f_unlink, 0, sizeof f_unlink);
    hold = held = long_name = 0;
    hold_stop = 0;
}

static void setup_opts(const blocking_pool_opts_t *o) {
    faults_off();
    if (exec_init(&ex)) abort();
    ex.log = 0;
    exec_clock_pause(&ex);
    if (blocking_pool_init(&pool, &ex, o)) abort();
    fds_at_start = check_open_fds();
}

static void setup(void) {
    blocking_pool_opts_t o;
    memset(&o, 0, sizeof o);
    o.threads = o.max_threads = 1; /* one job at a time: a gate holds the rest */
    setup_opts(&o);
}

/* Nothing left open: no directory, no fd. */
static int clean(void) {
    return __atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST) == 0 &&
           check_open_fds() == fds_at_start;
}

static void teardown(void) {
    faults_off();
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
}

static void path_of(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", top, name);
}

static int put_file(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs("data", f);
    return fclose(f);
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static int is_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* rm -r, for the clean-up between tests (synchronous: not under test). */
static void remove_tree(const char *path) {
    DIR *d;
    struct dirent *e;
    char sub[PATH_MAX];
    if (!is_dir(path)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    if (d) closedir(d);
    rmdir(path);
}

/* Awaits one future; its error. */
typedef struct {
    future_t fut;
    future_t *child;
} await1_t;

static coro_poll_t await1_poll(future_t *self, future_cx_t *cx) {
    await1_t *f = (await1_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, f->child);
    ASYNC_RETURN(future_err(f->child));
    ASYNC_END();
}

static int run1(void *child) {
    await1_t a;
    future_init(&a.fut, await1_poll, 0);
    a.child = FUTURE(child);
    return exec_block_on(&ex, &a.fut);
}

/* The next item of a stream, awaited from an async body: the item, or 0. */
typedef struct {
    future_t fut;
    sync_stream_t *s;
    const void *p;
} next1_t;

static coro_poll_t next1_poll(future_t *self, future_cx_t *cx) {
    next1_t *f = (next1_t *)(void *)self;
    ASYNC_BEGIN(f);
    AWAIT_NEXT(cx, f->s, f->p);
    ASYNC_END();
}

static const fs_dirent_t *next1(void *stream) {
    next1_t n;
    future_init(&n.fut, next1_poll, 0);
    n.s = (sync_stream_t *)stream;
    n.p = 0;
    if (exec_block_on(&ex, &n.fut) != 0) return 0;
    return (const fs_dirent_t *)n.p;
}

/* Counts every entry of a stream, from one async body (one task: so a
 * long batch meets the task's budget). */
typedef struct {
    future_t fut;
    sync_stream_t *s;
    const void *p;
    int n;
} count_t;

static coro_poll_t count_poll(future_t *self, future_cx_t *cx) {
    count_t *f = (count_t *)(void *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        AWAIT_NEXT(cx, f->s, f->p);
        if (!f->p) break;
        f->n++;
    }
    ASYNC_END();
}

static int count_all(void *stream) {
    count_t c;
    future_init(&c.fut, count_poll, 0);
    c.s = (sync_stream_t *)stream;
    c.n = 0;
    if (exec_block_on(&ex, &c.fut) != 0) return -1;
    return c.n;
}

/* A job that holds the pool's one thread until `gate_open`. */
static int gate_open;
static int64_t gate_job(void *arg, blocking_job_t *job) {
    int i;
    (void)arg;
    for (i = 0; i < 100000 && !__atomic_load_n(&gate_open, __ATOMIC_SEQ_CST); i++) {
        if (blocking_stopping(job)) break;
        pause_a_little();
    }
    return 0;
}

/* Let the loop turn n times (tasks run, finished jobs come back) without
 * the paused clock moving. */
typedef struct {
    future_t fut;
    int turns;
} settle_t;

static coro_poll_t settle_poll(future_t *self, future_cx_t *cx) {
    settle_t *s = (settle_t *)(void *)self;
    if (s->turns-- > 0) {
        future_wake(cx->waker);
        return CORO_PENDING;
    }
    return future_finish(self, 0);
}

static void settle(int turns) {
    settle_t s;
    future_init(&s.fut, settle_poll, 0);
    s.turns = turns;
    exec_block_on(&ex, &s.fut);
}

static int reached(const blocking_t *b, int st) {
    int i;
    for (i = 0; i < 100000 && EXEC_LOAD_(&b->state) != st; i++) pause_a_little();
    return EXEC_LOAD_(&b->state) == st;
}

static char said_buf[512];
static const char *said(const void *f) {
    future_fmt_t o = {said_buf, sizeof said_buf, 0, 0, 0};
    said_buf[0] = 0;
    future_describe((const future_t *)f, &o);
    return said_buf;
}

/* ---- metadata ------------------------------------------------------------- */

static void test_stat_and_lstat(void) {
    char file[96], link[96], sub[96], bad[128];
    fs_stat_t s;
    setup();
    path_of(file, sizeof file, "f");
    path_of(link, sizeof link, "l");
    path_of(sub, sizeof sub, "d");
    CHECK_EQ(put_file(file), 0);
    CHECK_EQ(symlink(file, link), 0);
    CHECK_EQ(mkdir(sub, 0700), 0);
    fs_stat_init(&s, &pool, file);
    CHECK_EQ(run1(&s), 0);
    CHECK(S_ISREG(s.out.st_mode));
    CHECK_EQ(s.out.st_size, 4);
    fs_stat_init(&s, &pool, link); /* followed */
    CHECK_EQ(run1(&s), 0);
    CHECK(S_ISREG(s.out.st_mode));
    fs_lstat_init(&s, &pool, link); /* the link itself */
    CHECK_EQ(run1(&s), 0);
    CHECK(S_ISLNK(s.out.st_mode));
    fs_stat_init(&s, &pool, sub);
    CHECK_EQ(run1(&s), 0);
    CHECK(S_ISDIR(s.out.st_mode));
    /* errors are values */
    path_of(bad, sizeof bad, "missing");
    fs_stat_init(&s, &pool, bad);
    CHECK_EQ(run1(&s), -ENOENT);
    snprintf(bad, sizeof bad, "%s/under", file);
    fs_lstat_init(&s, &pool, bad);
    CHECK_EQ(run1(&s), -ENOTDIR);
    /* interrupted (a network file system): retried */
    fault_arm(&f_stat, 0, 1, EINTR);
    fs_stat_init(&s, &pool, file);
    CHECK_EQ(run1(&s), 0);
    CHECK_EQ(f_stat.hits, 1);
    CHECK_EQ(s.out.st_size, 4);
    /* no path: misuse, -EINVAL, no job */
    CHECK_MISUSE(fs_stat_init(&s, &pool, 0), "without a path");
    CHECK_EQ(run1(&s), -EINVAL);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 7);
    unlink(link);
    unlink(file);
    rmdir(sub);
    CHECK(clean());
    teardown();
}

/* A file over 2 GiB (sparse: no disk space) stats and opens on every word
 * size: on 32-bit glibc that takes the 64-bit interfaces exec.h selects
 * (_FILE_OFFSET_BITS=64); without them stat and open say EOVERFLOW, as
 * readdir does on a file system with 64-bit inode numbers. */
static void test_large_file(void) {
    const long long big = 3LL << 30; /* 3 GiB: past 2^31 */
    char file[96], buf[8];
    fs_stat_t s;
    fs_chunks_t ch;
    int fd;
    CHECK_EQ(sizeof(off_t), 8);
    setup();
    path_of(file, sizeof file, "big");
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (ftruncate(fd, (off_t)big) < 0) { /* a file system without them */
        printf("    (no %lld-byte sparse file here: %s)\n", big, strerror(errno));
    } else {
        fs_stat_init(&s, &pool, file);
        CHECK_EQ(run1(&s), 0);
        CHECK_EQ((long long)s.out.st_size, big);
        fs_lstat_init(&s, &pool, file);
        CHECK_EQ(run1(&s), 0);
        CHECK_EQ((long long)s.out.st_size, big);
        fs_chunks_init(&ch, &pool, file, buf, sizeof buf); /* open + pread */
        CHECK_EQ(run1(&ch.fut), 0);
        CHECK_EQ(ch.len, sizeof buf);
        CHECK_EQ(buf[0], 0);
        future_drop(&ch.fut);
    }
    close(fd);
    unlink(file);
    CHECK(clean());
    teardown();
}

/* ---- rename, remove, remove_dir, mkdir ------------------------------------ */

static void test_rename_remove(void) {
    char a[96], b[96], d[96], in_d[128];
    fs_call_t c;
    setup();
    path_of(a, sizeof a, "a");
    path_of(b, sizeof b, "b");
    path_of(d, sizeof d, "d");
    snprintf(in_d, sizeof in_d, "%s/x", d);
    CHECK_EQ(put_file(a), 0);
    fs_rename_init(&c, &pool, a, b);
    CHECK_EQ(run1(&c), 0);
    CHECK(!exists(a) && exists(b));
    CHECK_EQ(put_file(a), 0);
    fs_rename_init(&c, &pool, a, b); /* replaces b */
    CHECK_EQ(run1(&c), 0);
    CHECK(!exists(a) && exists(b));
    fs_rename_init(&c, &pool, a, b);
    CHECK_EQ(run1(&c), -ENOENT);
    fs_remove_init(&c, &pool, b);
    CHECK_EQ(run1(&c), 0);
    CHECK(!exists(b));
    fs_remove_init(&c, &pool, b);
    CHECK_EQ(run1(&c), -ENOENT);
    /* directories */
    CHECK_EQ(mkdir(d, 0700), 0);
    fs_remove_init(&c, &pool, d); /* not a file */
    CHECK_EQ(run1(&c), -EISDIR);
    CHECK_EQ(put_file(in_d), 0);
    fs_remove_dir_init(&c, &pool, d);
    CHECK_EQ(run1(&c), -ENOTEMPTY);
    fs_remove_dir_init(&c, &pool, in_d);
    CHECK_EQ(run1(&c), -ENOTDIR);
    fs_remove_init(&c, &pool, in_d);
    CHECK_EQ(run1(&c), 0);
    fs_remove_dir_init(&c, &pool, d);
    CHECK_EQ(run1(&c), 0);
    CHECK(!exists(d));
    /* interrupted: retried */
    CHECK_EQ(put_file(a), 0);
    fault_arm(&f_unlink, 0, 1, EINTR);
    fs_remove_init(&c, &pool, a);
    CHECK_EQ(run1(&c), 0);
    CHECK_EQ(f_unlink.hits, 1);
    CHECK(!exists(a));
    /* misuse: no path, either of rename's */
    CHECK_MISUSE(fs_rename_init(&c, &pool, a, 0), "fs_rename_init without a path");
    CHECK_EQ(run1(&c), -EINVAL);
    CHECK_MISUSE(fs_rename_init(&c, &pool, 0, b), "fs_rename_init without a path");
    CHECK_EQ(run1(&c), -EINVAL);
    CHECK_MISUSE(fs_remove_init(&c, &pool, 0), "fs_remove_init without a path");
    CHECK_EQ(run1(&c), -EINVAL);
    CHECK_MISUSE(fs_remove_dir_init(&c, &pool, 0), "fs_remove_dir_init");
    CHECK_EQ(run1(&c), -EINVAL);
    CHECK(clean());
    teardown();
}

static void test_mkdir(void) {
    char d[96], sub[128];
    fs_call_t c;
    fs_stat_t s;
    mode_t old = umask(022);
    setup();
    path_of(d, sizeof d, "made");
    fs_mkdir_init(&c, &pool, d, 0751);
    CHECK_EQ(run1(&c), 0);
    fs_stat_init(&s, &pool, d);
    CHECK_EQ(run1(&s), 0);
    CHECK(S_ISDIR(s.out.st_mode));
    CHECK_EQ(s.out.st_mode & 0777, 0751 & ~022);
    fs_mkdir_init(&c, &pool, d, 0700); /* there already */
    CHECK_EQ(run1(&c), -EEXIST);
    snprintf(sub, sizeof sub, "%s/x/y", d);
    fs_mkdir_init(&c, &pool, sub, 0700); /* no parent */
    CHECK_EQ(run1(&c), -ENOENT);
    fault_arm(&f_mkdir, 0, 1, EINTR);
    snprintf(sub, sizeof sub, "%s/x", d);
    fs_mkdir_init(&c, &pool, sub, 0700);
    CHECK_EQ(run1(&c), 0);
    CHECK_EQ(f_mkdir.hits, 1);
    CHECK_MISUSE(fs_mkdir_init(&c, &pool, 0, 0700), "fs_mkdir_init without a path");
    CHECK_EQ(run1(&c), -EINVAL);
    remove_tree(d);
    umask(old);
    CHECK(clean());
    teardown();
}

static void test_mkdir_all(void) {
    char deep[256], file[96], through[128], back[PATH_MAX + 8], cwd[PATH_MAX];
    fs_call_t c;
    mode_t old = umask(022);
    struct stat st;
    setup();
    /* three levels, with doubled and trailing slashes */
    snprintf(deep, sizeof deep, "%s/p//q/r/", top);
    fs_mkdir_all_init(&c, &pool, deep, 0750);
    CHECK_EQ(run1(&c), 0);
    snprintf(deep, sizeof deep, "%s/p/q/r", top);
    CHECK(is_dir(deep));
    CHECK_EQ(lstat(deep, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0750);
    snprintf(deep, sizeof deep, "%s/p", top);
    CHECK_EQ(lstat(deep, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0750);
    /* all there already: success; one more level: made */
    snprintf(deep, sizeof deep, "%s/p/q/r", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), 0);
    snprintf(deep, sizeof deep, "%s/p/q/r/s", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), 0);
    CHECK(is_dir(deep));
    /* "": nothing to make, success (std's create_dir_all) */
    fs_mkdir_all_init(&c, &pool, "", 0700);
    CHECK_EQ(run1(&c), 0);
    /* "/" exists */
    fs_mkdir_all_init(&c, &pool, "/", 0700);
    CHECK_EQ(run1(&c), 0);
    /* a file in the way: as the file is the last part, or a parent */
    path_of(file, sizeof file, "file");
    CHECK_EQ(put_file(file), 0);
    fs_mkdir_all_init(&c, &pool, file, 0700);
    CHECK_EQ(run1(&c), -EEXIST);
    snprintf(through, sizeof through, "%s/x/y", file);
    fs_mkdir_all_init(&c, &pool, through, 0700);
    CHECK_EQ(run1(&c), -ENOTDIR);
    /* a parent that cannot be made: mkdir's error */
    fault_arm(&f_mkdir, 1, 1, EACCES); /* the whole: -ENOENT; its parent: no */
    snprintf(deep, sizeof deep, "%s/u/v", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), -EACCES);
    snprintf(deep, sizeof deep, "%s/u", top);
    CHECK(!exists(deep));
    /* interrupted: retried */
    fault_arm(&f_mkdir, 0, 1, EINTR);
    snprintf(deep, sizeof deep, "%s/i", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), 0);
    CHECK_EQ(f_mkdir.hits, 1);
    CHECK(is_dir(deep));
    rmdir(deep);
    /* every parent missing (faked): walked back to "/", which it never
     * tries to make */
    fault_arm(&f_mkdir, 0, -1, ENOENT);
    snprintf(deep, sizeof deep, "%s/x/y", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), -ENOENT);
    CHECK_EQ(f_mkdir.hits, 4); /* /tmp/weft_fs_more_.../x/y, .../x, ..., /tmp */
    fault_arm(&f_mkdir, 0, 0, 0);
    /* a stat that fails after -EEXIST: -EEXIST */
    fault_arm(&f_stat, 0, 1, EIO);
    snprintf(deep, sizeof deep, "%s/p", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(run1(&c), -EEXIST);
    /* relative, from a working directory that exists, and from one that
     * is gone (nothing to walk back to) */
    CHECK(getcwd(cwd, sizeof cwd) != 0);
    CHECK_EQ(chdir(top), 0);
    fs_mkdir_all_init(&c, &pool, "rel/a/b", 0700);
    CHECK_EQ(run1(&c), 0);
    CHECK(is_dir("rel/a/b"));
    CHECK_EQ(mkdir("gone", 0700), 0);
    CHECK_EQ(chdir("gone"), 0);
    snprintf(deep, sizeof deep, "%s/gone", top);
    CHECK_EQ(rmdir(deep), 0);
    fs_mkdir_all_init(&c, &pool, "a/b", 0700);
    CHECK_EQ(run1(&c), -ENOENT);
    fs_mkdir_all_init(&c, &pool, "", 0700); /* still nothing to make */
    CHECK_EQ(run1(&c), 0);
    CHECK_EQ(chdir(cwd), 0);
    /* too long for a path */
    memset(back, 'a', sizeof back - 1);
    back[sizeof back - 1] = 0;
    fs_mkdir_all_init(&c, &pool, back, 0700);
    CHECK_EQ(run1(&c), -ENAMETOOLONG);
    CHECK_MISUSE(fs_mkdir_all_init(&c, &pool, 0, 0700), "fs_mkdir_all_init");
    CHECK_EQ(run1(&c), -EINVAL);
    snprintf(deep, sizeof deep, "%s/p", top);
    remove_tree(deep);
    snprintf(deep, sizeof deep, "%s/rel", top);
    remove_tree(deep);
    unlink(file);
    umask(old);
    CHECK(clean());
    teardown();
}

/* ---- dropped while queued, dropped while running -------------------------- */

/* Polls a future once, with a gate job ahead of it on the pool's one
 * thread (so it is queued), then drops it: its job never runs. */
typedef struct {
    future_t fut;
    blocking_t gate;
    future_t *victim;
    const char *want; /* what the victim says it does, queued */
    int said_ok;
} queued_drop_t;

static coro_poll_t queued_drop_poll(future_t *self, future_cx_t *cx) {
    queued_drop_t *q = (queued_drop_t *)(void *)self;
    if (future_poll(&q->gate.fut, cx) != CORO_PENDING) return future_finish(self, -EIO);
    if (!reached(&q->gate, BLOCKING_RUNNING_)) return future_finish(self, -EIO);
    if (future_poll(q->victim, cx) != CORO_PENDING) return future_finish(self, -EIO);
    q->said_ok = strcmp(said(q->victim), q->want) == 0;
    if (!q->said_ok) printf("    said \"%s\"\n    wanted \"%s\"\n", said_buf, q->want);
    future_drop(q->victim); /* queued: unlinked, never runs */
    __atomic_store_n(&gate_open, 1, __ATOMIC_SEQ_CST);
    future_drop(&q->gate.fut);
    return future_finish(self, 0);
}

static int drop_queued(void *victim, const char *want) {
    queued_drop_t q;
    future_init(&q.fut, queued_drop_poll, 0);
    __atomic_store_n(&gate_open, 0, __ATOMIC_SEQ_CST);
    blocking_init_scoped(&q.gate, &pool, gate_job, 0);
    q.victim = FUTURE(victim);
    q.want = want;
    q.said_ok = 0;
    if (exec_block_on(&ex, &q.fut) != 0) return -1;
    return q.said_ok && future_err(FUTURE(victim)) == -ECANCELED ? 0 : -1;
}

static void test_dropped_while_queued_never_runs(void) {
    char a[96], b[96], d[96], want[300];
    fs_call_t c;
    fs_stat_t s;
    uint64_t ran;
    setup();
    path_of(a, sizeof a, "a");
    path_of(b, sizeof b, "b");
    path_of(d, sizeof d, "d");
    CHECK_EQ(put_file(a), 0);
    fs_rename_init(&c, &pool, a, b);
    snprintf(want, sizeof want, "fs rename \"%s\" to \"%s\" (queued)", a, b);
    CHECK_EQ(drop_queued(&c, want), 0);
    CHECK(exists(a) && !exists(b));
    fs_remove_init(&c, &pool, a);
    snprintf(want, sizeof want, "fs remove \"%s\" (queued)", a);
    CHECK_EQ(drop_queued(&c, want), 0);
    CHECK(exists(a));
    fs_mkdir_init(&c, &pool, d, 0700);
    snprintf(want, sizeof want, "fs mkdir \"%s\" (queued)", d);
    CHECK_EQ(drop_queued(&c, want), 0);
    fs_mkdir_all_init(&c, &pool, d, 0700);
    snprintf(want, sizeof want, "fs mkdir_all \"%s\" (queued)", d);
    CHECK_EQ(drop_queued(&c, want), 0);
    CHECK(!exists(d));
    CHECK_EQ(mkdir(d, 0700), 0);
    fs_remove_dir_init(&c, &pool, d);
    snprintf(want, sizeof want, "fs remove_dir \"%s\" (queued)", d);
    CHECK_EQ(drop_queued(&c, want), 0);
    CHECK(exists(d));
    fs_stat_init(&s, &pool, a);
    snprintf(want, sizeof want, "fs stat \"%s\" (queued)", a);
    CHECK_EQ(drop_queued(&s, want), 0);
    fs_lstat_init(&s, &pool, a);
    snprintf(want, sizeof want, "fs lstat \"%s\" (queued)", a);
    CHECK_EQ(drop_queued(&s, want), 0);
    ran = blocking_pool_stats(&pool).ran;
    CHECK_EQ(ran, 7); /* the gates only */
    rmdir(d);
    unlink(a);
    CHECK(clean());
    teardown();
}

/* Polls a future once (its job starts and is held inside its call), then
 * drops it: the drop raises the stop flag and waits for the job. */
typedef struct {
    future_t fut;
    future_t *victim;
    blocking_t *job;
} running_drop_t;

static coro_poll_t running_drop_poll(future_t *self, future_cx_t *cx) {
    running_drop_t *r = (running_drop_t *)(void *)self;
    int i;
    if (future_poll(r->victim, cx) != CORO_PENDING) return future_finish(self, -EIO);
    for (i = 0; i < 100000 && !__atomic_load_n(&held, __ATOMIC_SEQ_CST); i++)
        pause_a_little();
    if (!__atomic_load_n(&held, __ATOMIC_SEQ_CST)) return future_finish(self, -EIO);
    __atomic_store_n(&hold_stop, &r->job->job->stop_, __ATOMIC_SEQ_CST);
    future_drop(r->victim);
    return future_finish(self, 0);
}

static int drop_running(void *victim, blocking_t *job, int nth) {
    running_drop_t r;
    future_init(&r.fut, running_drop_poll, 0);
    r.victim = FUTURE(victim);
    r.job = job;
    __atomic_store_n(&held, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hold_stop, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hold, nth, __ATOMIC_SEQ_CST);
    if (exec_block_on(&ex, &r.fut) != 0) return -1;
    return future_err(FUTURE(victim)) == -ECANCELED ? 0 : -1;
}

/* The effect of a call already made stays (as in tokio): the caller only
 * loses the result. mkdir_all stops before its next step. */
static void test_dropped_while_running_may_take_effect(void) {
    char a[96], deep[128], mid[128];
    fs_call_t c;
    setup();
    path_of(a, sizeof a, "a");
    CHECK_EQ(put_file(a), 0);
    fs_remove_init(&c, &pool, a);
    CHECK_EQ(drop_running(&c, &c.op.job, 1), 0);
    CHECK(!exists(a)); /* removed all the same */
    snprintf(deep, sizeof deep, "%s/m/n/o", top);
    snprintf(mid, sizeof mid, "%s/m", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    fault_arm(&f_mkdir, 0, 2, ENOENT); /* m/n/o, m/n missing: walk back to m */
    CHECK_EQ(drop_running(&c, &c.op.job, 3), 0); /* held making m */
    CHECK(is_dir(mid));                 /* the step held was made... */
    snprintf(mid, sizeof mid, "%s/m/n", top);
    CHECK(!exists(mid));                /* ...and no more */
    /* dropped while walking back: stops there, nothing made */
    snprintf(deep, sizeof deep, "%s/k/l", top);
    snprintf(mid, sizeof mid, "%s/k", top);
    fs_mkdir_all_init(&c, &pool, deep, 0700);
    CHECK_EQ(drop_running(&c, &c.op.job, 1), 0); /* held at k/l: -ENOENT */
    CHECK(!exists(mid));
    CHECK_EQ(blocking_pool_stats(&pool).ran, 3);
    snprintf(mid, sizeof mid, "%s/m", top);
    remove_tree(mid);
    CHECK(clean());
    teardown();
}

/* ---- the directory stream ------------------------------------------------- */

#define NFILES 10

static void make_files(const char *d) {
    char p[256];
    int i;
    mkdir(d, 0700);
    for (i = 0; i < NFILES; i++) {
        snprintf(p, sizeof p, "%s/file%d", d, i);
        put_file(p);
    }
    snprintf(p, sizeof p, "%s/sub", d);
    mkdir(p, 0700);
}

/* Reads a whole listing in an async body, AWAIT_NEXT by AWAIT_NEXT. */
typedef struct {
    future_t fut;
    fs_dir_t d;
    fs_dirent_t ents[4];
    const fs_dirent_t *e;
    const char *path;
    int seen[NFILES], n, subs, stop_after;
} lister_t;

static coro_poll_t lister_poll(future_t *self, future_cx_t *cx) {
    lister_t *f = (lister_t *)(void *)self;
    ASYNC_BEGIN(f);
    fs_dir_init(&f->d, &pool, f->path, f->ents, 4);
    for (;;) {
        AWAIT_NEXT(cx, &f->d, f->e);
        if (!f->e) break;
        f->n++;
        if (!strcmp(f->e->name, "sub")) {
            f->subs += f->e->type == DT_DIR || f->e->type == DT_UNKNOWN;
        } else {
            int i = atoi(f->e->name + 4);
            if (strncmp(f->e->name, "file", 4) || i < 0 || i >= NFILES) ASYNC_RETURN(-EIO);
            f->seen[i]++;
            if (f->e->type != DT_REG && f->e->type != DT_UNKNOWN) ASYNC_RETURN(-EIO);
            if (!f->e->ino) ASYNC_RETURN(-EIO);
        }
        if (f->n == f->stop_after) {
            future_drop(&f->d.st.fut); /* stop early: closes the directory */
            break;
        }
    }
    ASYNC_RETURN(future_err(&f->d.st.fut));
    ASYNC_END();
}

static void test_dir_lists_in_batches(void) {
    char d[96], empty[96], file[96], missing[96];
    lister_t *l = (lister_t *)calloc(1, sizeof *l);
    int i;
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    future_init(&l->fut, lister_poll, 0);
    l->path = d;
    CHECK_EQ(exec_block_on(&ex, &l->fut), 0);
    CHECK_EQ(l->n, NFILES + 1); /* no "." or ".." */
    CHECK_EQ(l->subs, 1);
    for (i = 0; i < NFILES; i++) CHECK_EQ(l->seen[i], 1);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 3); /* 4 + 4 + 3 and the end */
    CHECK(clean());
    /* stopped early by a drop: closed */
    memset(l, 0, sizeof *l);
    future_init(&l->fut, lister_poll, 0);
    l->path = d;
    l->stop_after = 5;
    CHECK_EQ(exec_block_on(&ex, &l->fut), -ECANCELED);
    CHECK_EQ(l->n, 5);
    CHECK(clean());
    /* an empty directory: the end at once */
    path_of(empty, sizeof empty, "empty");
    CHECK_EQ(mkdir(empty, 0700), 0);
    memset(l, 0, sizeof *l);
    future_init(&l->fut, lister_poll, 0);
    l->path = empty;
    CHECK_EQ(exec_block_on(&ex, &l->fut), 0);
    CHECK_EQ(l->n, 0);
    /* errors end the stream */
    path_of(missing, sizeof missing, "missing");
    memset(l, 0, sizeof *l);
    future_init(&l->fut, lister_poll, 0);
    l->path = missing;
    CHECK_EQ(exec_block_on(&ex, &l->fut), -ENOENT);
    path_of(file, sizeof file, "list/file0");
    memset(l, 0, sizeof *l);
    future_init(&l->fut, lister_poll, 0);
    l->path = file;
    CHECK_EQ(exec_block_on(&ex, &l->fut), -ENOTDIR);
    CHECK(clean());
    free(l);
    remove_tree(d);
    rmdir(empty);
    teardown();
}

static void test_dir_errors_and_misuse(void) {
    char d[96];
    fs_dir_t dir;
    fs_dirent_t ents[4];
    const fs_dirent_t *e;
    int n = 0;
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    /* opendir interrupted: retried */
    fault_arm(&f_opendir, 0, 1, EINTR);
    fs_dir_init(&dir, &pool, d, ents, 4);
    while (next1(&dir)) n++;
    CHECK_EQ(n, NFILES + 1);
    CHECK_EQ(future_err(&dir.st.fut), 0);
    CHECK_EQ(f_opendir.hits, 1);
    CHECK(next1(&dir) == 0); /* the end stays the end */
    /* readdir failing in the second batch: the entries read before it are
     * handed out, then the error */
    fault_arm(&f_readdir, 6, 1, EIO); /* "." ".." count */
    fs_dir_init(&dir, &pool, d, ents, 4);
    n = 0;
    while (next1(&dir)) n++;
    CHECK_EQ(future_err(&dir.st.fut), -EIO);
    CHECK(n >= 4 && n <= 6); /* the first batch, and 0 to 2 more */
    CHECK(clean());
    /* a name longer than NAME_MAX (no Linux file system makes one) */
    __atomic_store_n(&long_name, 1, __ATOMIC_SEQ_CST);
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK(next1(&dir) == 0);
    CHECK_EQ(future_err(&dir.st.fut), -ENAMETOOLONG);
    CHECK(clean());
    /* misuse: no entries, no room, no path */
    CHECK_MISUSE(fs_dir_init(&dir, &pool, d, 0, 4), "fs_dir_init without");
    CHECK(next1(&dir) == 0);
    CHECK_EQ(future_err(&dir.st.fut), -EINVAL);
    CHECK_MISUSE(fs_dir_init(&dir, &pool, d, ents, 0), "fs_dir_init without");
    CHECK(next1(&dir) == 0);
    CHECK_MISUSE(fs_dir_init(&dir, &pool, 0, ents, 4), "fs_dir_init without");
    CHECK(next1(&dir) == 0);
    CHECK_EQ(future_err(&dir.st.fut), -EINVAL);
    /* the pool shut down between two batches: the stream ends with the
     * pool's -ECANCELED, and the directory, open, is closed */
    fs_dir_init(&dir, &pool, d, ents, 4);
    e = next1(&dir);
    CHECK(e != 0);
    CHECK_EQ(__atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST), 1);
    blocking_pool_shutdown(&pool, BLOCKING_POOL_CANCEL);
    n = 1;
    while (next1(&dir)) n++;
    CHECK_EQ(n, 4); /* the first batch */
    CHECK_EQ(future_err(&dir.st.fut), -ECANCELED);
    CHECK(clean());
    remove_tree(d);
    teardown();
}

/* Names that start with dots are entries ("." and ".." are not); a batch
 * longer than the task's budget (EXEC_BUDGET) is handed out over several
 * polls. */
static void test_dir_dots_and_budget(void) {
    char d[96], p[160];
    fs_dir_t dir;
    static fs_dirent_t ents[EXEC_BUDGET * 2];
    static const char *names[] = {".h", "..x", "...", ".", "..", "a"};
    int i, n = 0, found = 0;
    setup();
    path_of(d, sizeof d, "dots");
    CHECK_EQ(mkdir(d, 0700), 0);
    for (i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", d, names[i]);
        if (i != 3 && i != 4) CHECK_EQ(put_file(p), 0);
    }
    fs_dir_init(&dir, &pool, d, ents, 8);
    for (;;) {
        const fs_dirent_t *e = next1(&dir);
        if (!e) break;
        n++;
        for (i = 0; i < 6; i++) found |= !strcmp(e->name, names[i]) << i;
    }
    CHECK_EQ(n, 4);
    CHECK_EQ(found, 0x27); /* not "." or ".." */
    remove_tree(d);
    /* the budget: more entries than it allows in one batch */
    CHECK_EQ(mkdir(d, 0700), 0);
    for (i = 0; i < EXEC_BUDGET + 20; i++) {
        snprintf(p, sizeof p, "%s/f%d", d, i);
        CHECK_EQ(put_file(p), 0);
    }
    fs_dir_init(&dir, &pool, d, ents, EXEC_BUDGET * 2);
    CHECK_EQ(count_all(&dir), EXEC_BUDGET + 20);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 2); /* one batch per listing */
    remove_tree(d);
    CHECK(clean());
    teardown();
}

/* The stream takes part in sync.h's combinators: the first 3 entries. The
 * take does not own its input: the directory stays open until dropped. */
typedef struct {
    future_t fut;
    fs_dir_t d;
    sync_take_t t;
    fs_dirent_t ents[8];
    const fs_dirent_t *e;
    const char *path;
    int n;
} taker_t;

static coro_poll_t taker_poll(future_t *self, future_cx_t *cx) {
    taker_t *f = (taker_t *)(void *)self;
    ASYNC_BEGIN(f);
    fs_dir_init(&f->d, &pool, f->path, f->ents, 8);
    sync_take_init(&f->t, &f->d.st, 3);
    for (;;) {
        AWAIT_NEXT(cx, &f->t, f->e);
        if (!f->e) break;
        f->n++;
    }
    if (__atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST) != 1) ASYNC_RETURN(-EIO);
    future_drop(&f->d.st.fut);
    ASYNC_END();
}

static void test_dir_with_take(void) {
    char d[96];
    taker_t t;
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    memset(&t, 0, sizeof t);
    future_init(&t.fut, taker_poll, 0);
    t.path = d;
    CHECK_EQ(exec_block_on(&ex, &t.fut), 0);
    CHECK_EQ(t.n, 3);
    CHECK(clean());
    remove_tree(d);
    teardown();
}

/* Dropped at each place it waits: queued (its batch job behind a gate),
 * and running (held in readdir), with a batch in hand or not. */
static void test_dir_dropped_while_waiting(void) {
    char d[96], want[200];
    fs_dir_t dir;
    fs_dirent_t ents[4];
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    /* the first batch queued: never runs, nothing opened */
    fs_dir_init(&dir, &pool, d, ents, 4);
    snprintf(want, sizeof want, "fs dir \"%s\" (0 entries, queued)", d);
    CHECK_EQ(drop_queued(&dir.st, want), 0);
    CHECK(clean());
    /* the second batch queued: the directory, open, is closed */
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK(next1(&dir) && next1(&dir) && next1(&dir) && next1(&dir));
    snprintf(want, sizeof want, "fs dir \"%s\" (4 entries, queued)", d);
    CHECK_EQ(drop_queued(&dir.st, want), 0);
    CHECK(clean());
    /* the first batch running: the drop waits, then closes */
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK_EQ(drop_running(&dir.st, &dir.op.job, 1), 0);
    CHECK(clean());
    /* the second batch running */
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK(next1(&dir) && next1(&dir) && next1(&dir) && next1(&dir));
    CHECK_EQ(drop_running(&dir.st, &dir.op.job, 1), 0);
    CHECK(clean());
    /* between two entries of a batch, by hand: closed */
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK(next1(&dir) != 0);
    future_drop(&dir.st.fut);
    CHECK(clean());
    CHECK(next1(&dir) == 0); /* dropped: the end */
    CHECK_EQ(future_err(&dir.st.fut), -ECANCELED);
    remove_tree(d);
    teardown();
}

/* A listing made with FS_DIR_INIT, whose task is aborted while it waits
 * for something else, between two entries (no drop reaches the stream
 * then): its frame owns it, so the directory is closed. Aborted after each
 * entry in turn: inside a batch, at a batch's end, and after the last. */
typedef struct {
    future_t fut;
    fs_dir_t d;
    fs_dirent_t ents[4];
    const fs_dirent_t *e;
    const char *path;
    int n, park_at, go;
} owned_lister_t;

static coro_poll_t owned_lister_poll(future_t *self, future_cx_t *cx) {
    owned_lister_t *f = (owned_lister_t *)(void *)self;
    ASYNC_BEGIN(f);
    FS_DIR_INIT(&f->d, &pool, f->path, f->ents, 4);
    for (;;) {
        AWAIT_NEXT(cx, &f->d, f->e);
        if (!f->e) break;
        f->n++;
        if (f->n == f->park_at) AWAIT_UNTIL(f->go); /* parked: never woken */
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    exec_task_t t;
    owned_lister_t *victim;
    int after;
} owned_aborter_t;

static coro_poll_t owned_aborter_poll(future_t *self, future_cx_t *cx) {
    owned_aborter_t *f = (owned_aborter_t *)(void *)self;
    ASYNC_BEGIN(f);
    exec_spawn(&f->t, exec_of(cx), &f->victim->fut);
    AWAIT_UNTIL(f->victim->n >= f->after || exec_task_done(&f->t) ||
                (future_wake(cx->waker), 0));
    exec_abort(&f->t);
    ASYNC_END();
}

static void test_dir_owned_by_frame_closes_on_abort(void) {
    char d[96];
    owned_lister_t v;
    owned_aborter_t a;
    int after;
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    for (after = 1; after <= NFILES + 1; after++) {
        memset(&v, 0, sizeof v);
        memset(&a, 0, sizeof a);
        future_init(&v.fut, owned_lister_poll, 0);
        v.path = d;
        v.park_at = after;
        future_init(&a.fut, owned_aborter_poll, 0);
        a.victim = &v;
        a.after = after;
        CHECK_EQ(exec_block_on(&ex, &a.fut), 0);
        CHECK_EQ(exec_task_err(&a.t), -ECANCELED);
        CHECK_EQ(v.n, after);
        CHECK(clean());
    }
    /* a stream owned by another frame, dropped with it between batches */
    {
        fs_dir_t dir;
        fs_dirent_t ents[4];
        future_t owner;
        future_init(&owner, await1_poll, 0);
        fs_dir_init(&dir, &pool, d, ents, 4);
        fs_dir_own(&dir, &owner);
        fs_dir_own(&dir, &owner); /* again: still one link */
        CHECK(next1(&dir) != 0);
        CHECK_EQ(__atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST), 1);
        future_drop(&owner);
        CHECK(clean());
        CHECK_EQ(future_err(&dir.st.fut), -ECANCELED);
        /* read to its end, it unlinks itself: the owner's drop finds nothing */
        future_init(&owner, await1_poll, 0);
        fs_dir_init(&dir, &pool, d, ents, 4);
        fs_dir_own(&dir, &owner);
        while (next1(&dir)) {}
        CHECK(owner.owned == 0);
        future_drop(&owner);
    }
    /* FS_DIR_INIT again on a field its frame still owns (a second
     * listing, the first left early): the first is closed, the node
     * linked once, and the frame's end finds one listing to close. */
    {
        fs_dir_t dir;
        fs_dirent_t ents[4];
        future_t owner;
        int n = 0;
        future_init(&owner, await1_poll, 0);
        fs_dir_init_owned_(&dir, &pool, d, ents, 4, &owner);
        CHECK(next1(&dir) != 0);
        CHECK_EQ(__atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST), 1);
        fs_dir_init_owned_(&dir, &pool, d, ents, 4, &owner);
        CHECK_EQ(__atomic_load_n(&dirs_open, __ATOMIC_SEQ_CST), 0);
        CHECK(owner.owned == &dir.own && dir.own.next == 0);
        CHECK(next1(&dir) != 0);
        fs_dir_init_owned_(&dir, &pool, d, ents, 4, &owner); /* and a third */
        while (next1(&dir)) n++;
        CHECK_EQ(n, NFILES + 1); /* every entry, as test_dir_lists_in_batches */
        CHECK(owner.owned == 0);
        CHECK(next1(&dir) == 0);
        fs_dir_init_owned_(&dir, &pool, d, ents, 4, &owner);
        CHECK(next1(&dir) != 0);
        future_drop(&owner); /* the last one closed with its frame */
        CHECK_EQ(future_err(&dir.st.fut), -ECANCELED);
    }
    CHECK(clean());
    remove_tree(d);
    teardown();
}

/* What the backtrace says while a stream's batch runs. */
static void test_dir_says_what_it_does(void) {
    char d[96], want[200];
    fs_dir_t dir;
    fs_dirent_t ents[4];
    exec_task_t t = {0};
    next1_t n;
    setup();
    path_of(d, sizeof d, "list");
    make_files(d);
    fs_dir_init(&dir, &pool, d, ents, 4);
    CHECK(next1(&dir) != 0);
    future_init(&n.fut, next1_poll, 0);
    n.s = &dir.st;
    __atomic_store_n(&held, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hold, 1, __ATOMIC_SEQ_CST); /* readdir waits for the drop */
    CHECK(next1(&dir) && next1(&dir) && next1(&dir)); /* the batch in hand */
    CHECK_EQ(exec_spawn(&t, &ex, &n.fut), 0);
    settle(2);
    CHECK(reached(&dir.op.job, BLOCKING_RUNNING_));
    while (!__atomic_load_n(&held, __ATOMIC_SEQ_CST)) pause_a_little();
    snprintf(want, sizeof want, "fs dir \"%s\" (4 entries, running)", d);
    CHECK_EQ(strcmp(said(&dir.st), want), 0);
    __atomic_store_n(&hold_stop, &dir.op.job.job->stop_, __ATOMIC_SEQ_CST);
    exec_abort(&t); /* drops the stream: waits for the held batch */
    CHECK_EQ(exec_task_err(&t), -ECANCELED);
    CHECK(clean());
    remove_tree(d);
    teardown();
}

int main(void) {
    int rc;
    strcpy(top, "/tmp/weft_fs_more_XXXXXX");
    if (!mkdtemp(top)) return 1;
    RUN(test_stat_and_lstat);
    RUN(test_large_file);
    RUN(test_rename_remove);
    RUN(test_mkdir);
    RUN(test_mkdir_all);
    RUN(test_dropped_while_queued_never_runs);
    RUN(test_dropped_while_running_may_take_effect);
    RUN(test_dir_lists_in_batches);
    RUN(test_dir_errors_and_misuse);
    RUN(test_dir_dots_and_budget);
    RUN(test_dir_with_take);
    RUN(test_dir_dropped_while_waiting);
    RUN(test_dir_owned_by_frame_closes_on_abort);
    RUN(test_dir_says_what_it_does);
    rc = check_summary();
    remove_tree(top);
    return rc;
}
