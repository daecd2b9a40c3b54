/* Coverage tests of fs.h: the failure paths of the file jobs, which a
 * working file system does not produce on demand.
 *
 * Fault injection: fs.h is header-only, so its calls into libc (open,
 * read, write, close, fstat, malloc, realloc) are compiled into this file.
 * After including every system header fs.h and exec.h need, this file
 * defines macros renaming those calls to wrappers below; a wrapper calls
 * the real function unless a test armed a fault for it. Faults on read,
 * write and close only hit the fd that the wrapper of open last opened for
 * the file the test names (`traced`), so the executor's own fds are never
 * touched. The wrappers run on pool threads: a test arms a fault before
 * the job is submitted and reads the counts after the job is done (both
 * ordered by the pool's mutex). The renaming is local to this file, needs
 * no link flag, and works the same under ASan, UBSan and valgrind.
 */
#include "check.h"
#include "fault.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
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

/* ---- fault injection -------------------------------------------------------- */

static fault_t f_open, f_read, f_write, f_close, f_fstat, f_malloc, f_realloc;
static const char *traced; /* faults on read / write / close: this file's fd */
static int traced_fd = -1;
static int open_gate = 1;          /* 0: open of `traced` waits for it */
static int open_waiting;           /* an open waits at the gate */
static int write_waits_for_stop; /* see cover_write */
static int write_entered;
static int write_stop_raised(void); /* after fs.h: the job's stop flag */

static void pause_a_little(void) {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, 0);
}

static int cover_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    int fd, i;
    int mine = traced && strcmp(path, traced) == 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (mine && !__atomic_load_n(&open_gate, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&open_waiting, 1, __ATOMIC_SEQ_CST);
        for (i = 0; i < 50000 && !__atomic_load_n(&open_gate, __ATOMIC_SEQ_CST); i++)
            pause_a_little();
    }
    if (mine && fault_hit(&f_open)) return -1;
    fd = open(path, flags, mode);
    if (mine) traced_fd = fd;
    return fd;
}

static ssize_t cover_read(int fd, void *buf, size_t n) {
    if (fd == traced_fd && fault_hit(&f_read)) return -1;
    return read(fd, buf, n);
}

static ssize_t cover_pread(int fd, void *buf, size_t n, off_t off) {
    if (fd == traced_fd && fault_hit(&f_read)) return -1;
    return pread(fd, buf, n, off);
}

/* With write_waits_for_stop set, the first write of `traced` waits until the job
 * has been told to stop (the future was dropped), then writes: the job
 * must notice the stop before its next slice. */
static ssize_t cover_write(int fd, const void *buf, size_t n) {
    int i;
    if (fd == traced_fd && fault_hit(&f_write)) return -1;
    if (fd == traced_fd && write_waits_for_stop) {
        __atomic_store_n(&write_entered, 1, __ATOMIC_SEQ_CST);
        for (i = 0; i < 50000 && !write_stop_raised(); i++) pause_a_little();
    }
    return write(fd, buf, n);
}

/* close always releases the fd (as Linux does), then may report an error. */
static int cover_close(int fd) {
    int rc = close(fd);
    if (fd == traced_fd) {
        traced_fd = -1;
        if (fault_hit(&f_close)) return -1;
    }
    return rc;
}

static int cover_fstat(int fd, struct stat *st) {
    if (fault_hit(&f_fstat)) return -1;
    return fstat(fd, st);
}

static void *cover_malloc(size_t n) {
    if (fault_hit(&f_malloc)) return 0;
    return malloc(n);
}

static void *cover_realloc(void *p, size_t n) {
    if (fault_hit(&f_realloc)) return 0;
    return realloc(p, n);
}

#define open(...) cover_open(__VA_ARGS__)
#define read(...) cover_read(__VA_ARGS__)
#define pread(...) cover_pread(__VA_ARGS__)
#define write(...) cover_write(__VA_ARGS__)
#define close(fd) cover_close(fd)
#define fstat(fd, st) cover_fstat(fd, st)
#define malloc(n) cover_malloc(n)
#define realloc(p, n) cover_realloc(p, n)

#include "../fs.h"

static exec_t ex;
static blocking_pool_t pool;
static char dir[64], path_a[96], path_big[96], path_missing[96];
static fs_write_t *stop_w; /* the write whose job cover_write watches */

static int write_stop_raised(void) {
    const blocking_job_t *job = stop_w->op.job.job; /* the job's own block */
    return job && blocking_stopping(job);
}

static void faults_off(void) {
    memset(&f_open, 0, sizeof f_open);
    memset(&f_read, 0, sizeof f_read);
    memset(&f_write, 0, sizeof f_write);
    memset(&f_close, 0, sizeof f_close);
    memset(&f_fstat, 0, sizeof f_fstat);
    memset(&f_malloc, 0, sizeof f_malloc);
    memset(&f_realloc, 0, sizeof f_realloc);
    traced = 0;
    traced_fd = -1;
    open_gate = 1;
    open_waiting = 0;
    write_waits_for_stop = 0;
    write_entered = 0;
}

static void setup(void) {
    blocking_pool_opts_t o;
    faults_off();
    if (exec_init(&ex)) abort();
    ex.log = 0;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    if (blocking_pool_init(&pool, &ex, &o)) abort();
}

static void teardown(void) {
    faults_off();
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
}

static int put_file(const char *path, size_t n) {
    FILE *f = fopen(path, "wb");
    size_t i;
    if (!f) return -1;
    for (i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
    return fclose(f);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Awaits one future. */
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
static int run1(future_t *child) {
    await1_t a;
    future_init(&a.fut, await1_poll, 0);
    a.child = child;
    return exec_block_on(&ex, &a.fut);
}

/* ---- read ------------------------------------------------------------------------ */

static void test_read_allocating_edges(void) {
    fs_read_t rd;
    char buf[16];
    setup();
    /* A file of size 0 by fstat (a /proc file) still reads whole. */
    fs_read_init(&rd, &pool, "/proc/self/stat", 0, 0);
    CHECK_EQ(run1(&rd.fut), 0);
    CHECK(rd.len > 0 && rd.data && rd.data[rd.len] == 0);
    CHECK(strchr(rd.data, '(') != 0);
    free(rd.data);
    /* fstat failing: the same guess, then it grows (realloc) to fit. */
    CHECK_EQ(put_file(path_big, 10000), 0);
    traced = path_big;
    fault_arm(&f_fstat, 0, 1, EIO);
    fs_read_init(&rd, &pool, path_big, 0, 0);
    CHECK_EQ(run1(&rd.fut), 0);
    CHECK_EQ(f_fstat.hits, 1);
    CHECK_EQ(rd.len, 10000);
    CHECK(rd.data[9999] == 'a' + 9999 % 26 && rd.data[10000] == 0);
    free(rd.data);
    /* No memory for the buffer: -ENOMEM, nothing to free. */
    fault_arm(&f_malloc, 0, 1, ENOMEM);
    fs_read_init(&rd, &pool, path_big, 0, 0);
    CHECK_EQ(run1(&rd.fut), -ENOMEM);
    CHECK(rd.data == 0);
    CHECK_EQ(rd.len, 0);
    /* No memory to grow it: -ENOMEM, the first buffer freed (ASan,
     * valgrind: no leak). */
    fault_arm(&f_fstat, 0, 1, EIO);
    fault_arm(&f_realloc, 0, 1, ENOMEM);
    fs_read_init(&rd, &pool, path_big, 0, 0);
    CHECK_EQ(run1(&rd.fut), -ENOMEM);
    CHECK_EQ(f_realloc.hits, 1);
    CHECK(rd.data == 0);
    /* Interrupted open and read are retried. */
    fault_arm(&f_open, 0, 1, EINTR);
    fault_arm(&f_read, 0, 1, EINTR);
    fs_read_init(&rd, &pool, path_big, 0, 0);
    CHECK_EQ(run1(&rd.fut), 0);
    CHECK_EQ(f_open.hits, 1);
    CHECK_EQ(f_read.hits, 1);
    CHECK_EQ(rd.len, 10000);
    free(rd.data);
    /* A caller's buffer exactly full: the probe for more fails. */
    CHECK_EQ(put_file(path_a, sizeof buf), 0);
    traced = path_a;
    fault_arm(&f_read, 1, 1, EIO); /* the fill passes, the probe fails */
    fs_read_init(&rd, &pool, path_a, buf, sizeof buf);
    CHECK_EQ(run1(&rd.fut), -EIO);
    CHECK_EQ(f_read.hits, 1);
    teardown();
}

/* Polled again while its job runs (a spurious wake): still pending; then
 * dropped once the job is done but before the result was seen: the buffer
 * the job allocated is freed. */
typedef struct {
    future_t fut;
    fs_read_t rd;
    int step;
} spurious_t;

static coro_poll_t spurious_poll(future_t *self, future_cx_t *cx) {
    spurious_t *s = (spurious_t *)(void *)self;
    int i;
    if (future_poll(&s->rd.fut, cx) != CORO_PENDING) return future_finish(self, -EIO);
    for (i = 0; i < 50000 && !__atomic_load_n(&open_waiting, __ATOMIC_SEQ_CST); i++)
        pause_a_little();
    if (future_poll(&s->rd.fut, cx) != CORO_PENDING) return future_finish(self, -EIO);
    __atomic_store_n(&open_gate, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 50000 && blocking_pool_stats(&pool).ran < 1; i++) pause_a_little();
    future_drop(&s->rd.fut);
    return future_finish(self, 0);
}

static void test_read_repolled_then_dropped_done(void) {
    spurious_t s;
    setup();
    CHECK_EQ(put_file(path_a, 100), 0);
    traced = path_a;
    open_gate = 0;
    future_init(&s.fut, spurious_poll, 0);
    fs_read_init(&s.rd, &pool, path_a, 0, 0);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 1);
    CHECK(s.rd.data == 0);
    CHECK_EQ(s.rd.len, 0);
    CHECK_EQ(future_err(&s.rd.fut), -ECANCELED);
    teardown();
}

/* ---- write ----------------------------------------------------------------------- */

static void test_write_errors(void) {
    fs_write_t wr;
    static const char data[] = "hello, file";
    setup();
    /* A full device: -ENOSPC, nothing written. */
    fs_write_init(&wr, &pool, "/dev/full", data, sizeof data);
    CHECK_EQ(run1(&wr.fut), -ENOSPC);
    CHECK_EQ(wr.written, 0);
    /* Interrupted open and write are retried. */
    traced = path_a;
    fault_arm(&f_open, 0, 1, EINTR);
    fault_arm(&f_write, 0, 1, EINTR);
    fs_write_init(&wr, &pool, path_a, data, sizeof data);
    CHECK_EQ(run1(&wr.fut), 0);
    CHECK_EQ(f_open.hits + f_write.hits, 2);
    CHECK_EQ(wr.written, sizeof data);
    CHECK_EQ(file_size(path_a), (long)sizeof data);
    /* close failing counts (the data may not be on disk)... */
    fault_arm(&f_close, 0, 1, EIO);
    fs_write_init(&wr, &pool, path_a, data, sizeof data);
    CHECK_EQ(run1(&wr.fut), -EIO);
    CHECK_EQ(wr.written, sizeof data);
    /* ...unless interrupted (the fd is gone either way)... */
    fault_arm(&f_close, 0, 1, EINTR);
    fs_write_init(&wr, &pool, path_a, data, sizeof data);
    CHECK_EQ(run1(&wr.fut), 0);
    /* ...and the first error is the one reported. */
    fault_arm(&f_write, 0, 1, EFBIG);
    fault_arm(&f_close, 0, 1, EIO);
    fs_write_init(&wr, &pool, path_a, data, sizeof data);
    CHECK_EQ(run1(&wr.fut), -EFBIG);
    CHECK_EQ(f_close.hits, 1);
    CHECK_EQ(wr.written, 0);
    teardown();
}

/* Dropped while its job writes: the drop waits, the job stops at the next
 * slice, the file holds the slices written before. */
typedef struct {
    future_t fut;
    fs_write_t wr;
} stop_t;

static coro_poll_t stop_poll(future_t *self, future_cx_t *cx) {
    stop_t *s = (stop_t *)(void *)self;
    int i;
    if (future_poll(&s->wr.fut, cx) != CORO_PENDING) return future_finish(self, -EIO);
    for (i = 0; i < 50000 && !__atomic_load_n(&write_entered, __ATOMIC_SEQ_CST); i++)
        pause_a_little();
    future_drop(&s->wr.fut); /* raises the stop flag, waits for the job */
    return future_finish(self, 0);
}

static void test_write_dropped_while_running_stops(void) {
    static char big[2 * FS_SLICE + 1];
    stop_t s;
    setup();
    memset(big, 'x', sizeof big);
    traced = path_a;
    write_waits_for_stop = 1;
    stop_w = &s.wr;
    future_init(&s.fut, stop_poll, 0);
    fs_write_init(&s.wr, &pool, path_a, big, sizeof big);
    CHECK_EQ(exec_block_on(&ex, &s.fut), 0);
    CHECK_EQ(s.wr.written, FS_SLICE); /* one slice, then it stopped */
    CHECK_EQ(file_size(path_a), (long)FS_SLICE);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 1);
    teardown();
}

/* ---- chunks ---------------------------------------------------------------------- */

static void test_chunks_errors(void) {
    fs_chunks_t ch;
    char buf[64];
    setup();
    /* No file: the error, every further chunk empty with it. */
    fs_chunks_init(&ch, &pool, path_missing, buf, sizeof buf);
    CHECK_EQ(run1(&ch.fut), -ENOENT);
    CHECK_EQ(ch.len, 0);
    CHECK_EQ(run1(&ch.fut), -ENOENT); /* the stream is over: the same */
    CHECK_EQ(ch.len, 0);
    /* A directory opens, then the read fails (-EISDIR). */
    fs_chunks_init(&ch, &pool, dir, buf, sizeof buf);
    CHECK_EQ(run1(&ch.fut), -EISDIR);
    /* open interrupted: retried. */
    CHECK_EQ(put_file(path_a, sizeof buf), 0);
    traced = path_a;
    fault_arm(&f_open, 0, 1, EINTR);
    fs_chunks_init(&ch, &pool, path_a, buf, sizeof buf);
    CHECK_EQ(run1(&ch.fut), 0);
    CHECK_EQ(f_open.hits, 1);
    CHECK_EQ(ch.len, sizeof buf);
    /* pread interrupted: retried; at offset 64, the end. */
    fault_arm(&f_read, 0, 1, EINTR);
    CHECK_EQ(run1(&ch.fut), 0);
    CHECK_EQ(f_read.hits, 1);
    CHECK_EQ(ch.len, 0);
    CHECK_EQ(ch.offset, sizeof buf);
    /* No buffer: misuse, -EINVAL, and no job ever runs. */
    CHECK_MISUSE(fs_chunks_init(&ch, &pool, path_a, 0, 0), "without a buffer");
    CHECK_EQ(run1(&ch.fut), -EINVAL);
    CHECK_MISUSE(fs_chunks_init(&ch, &pool, path_a, buf, 0), "without a buffer");
    CHECK_EQ(run1(&ch.fut), -EINVAL);
    CHECK_EQ(blocking_pool_stats(&pool).ran, 4);
    teardown();
}

int main(void) {
    int rc;
    strcpy(dir, "/tmp/cover_fs_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(path_a, sizeof path_a, "%s/a", dir);
    snprintf(path_big, sizeof path_big, "%s/big", dir);
    snprintf(path_missing, sizeof path_missing, "%s/missing", dir);
    RUN(test_read_allocating_edges);
    RUN(test_read_repolled_then_dropped_done);
    RUN(test_write_errors);
    RUN(test_write_dropped_while_running_stops);
    RUN(test_chunks_errors);
    rc = check_summary();
    unlink(path_a);
    unlink(path_big);
    rmdir(dir);
    return rc;
}
