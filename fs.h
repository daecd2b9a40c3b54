/* fs.h - async file helpers on the blocking pool (tokio::fs, in C).
 *
 * Regular-file I/O blocks the thread that does it (Linux has no readiness
 * for files), so these futures run the open / read / write / close calls as
 * jobs on an blocking_pool_t (exec.h) and wake the task when they are done. The
 * executor's thread never blocks on the disk.
 *
 *     fs_read_t  rd;     // in your frame
 *     fs_write_t wr;
 *     fs_chunks_t ch;
 *     char buf[4096];
 *     ...
 *     fs_write_init(&f->wr, &pool, "out.txt", "hello\n", 6);
 *     AWAIT_TRY(cx, &f->wr);                      // -EACCES, -EISDIR, ...
 *     fs_read_init(&f->rd, &pool, "out.txt", f->buf, sizeof f->buf);
 *     AWAIT_TRY(cx, &f->rd);                      // f->rd.data[0..f->rd.len)
 *     fs_chunks_init(&f->ch, &pool, "big.log", f->buf, sizeof f->buf);
 *     for (;;) {                                  // a stream of chunks
 *         AWAIT_TRY(cx, &f->ch);                  // the next chunk, or error
 *         if (f->ch.len == 0) break;              // the end of the file
 *         use(f->ch.data, f->ch.len);
 *     }
 *
 * The contract
 *   - Errors are values: the future's error is 0 or -errno from the failing
 *     call (-ENOENT, -EACCES, -EISDIR, -ENOTDIR, -ENOSPC, -EIO, ...), plus
 *     -EFBIG when a file does not fit the caller's buffer, and the pool's
 *     -EAGAIN (queue full) / -ECANCELED (pool shut down).
 *   - Caller-owned memory: the futures read into and write from buffers you
 *     give them, and the jobs write their results straight into the future.
 *     So the jobs are *scoped* (blocking_init_scoped): dropping a
 *     helper while its job runs raises the job's stop flag and waits until
 *     the job returns. The jobs check the flag between slices of
 *     FS_SLICE bytes, so that wait is at most one read or write call.
 *     (A FIFO or a device that blocks forever in open or read would block
 *     that drop too: these helpers are for regular files.)
 *   - Dropping a helper closes any file it opened; a read that allocated
 *     frees its buffer. Nothing leaks on error or cancellation.
 *
 * Futures
 *   fs_read_t    fs_read_init(&r, &pool, path, buf, cap): the whole
 *                     file into buf[0..cap); r.data = buf, r.len = its size.
 *                     A file longer than cap: -EFBIG (buf holds the first
 *                     cap bytes). buf = 0: the job mallocs a buffer of the
 *                     file's size (plus a terminating NUL, not counted in
 *                     len): r.data is then yours to free(), once ready
 *                     without error (tokio::fs::read's Vec).
 *   fs_write_t   fs_write_init(&w, &pool, path, data, len): create
 *                     or truncate path (mode 0666 & ~umask), write all len
 *                     bytes, close (close's error counts). w.written: bytes.
 *   fs_chunks_t  fs_chunks_init(&c, &pool, path, buf, cap): a
 *                     stream. Each AWAIT reads the next chunk into buf, as it
 *                     is needed: c.data = buf, c.len bytes (cap, except the
 *                     last), c.offset its place in the file; c.len == 0 at
 *                     the end of the file. After the end or an error every
 *                     further AWAIT gives len 0 and the same error. The
 *                     file is open only while a chunk is read (each chunk
 *                     opens it and reads at its offset), so a stream left
 *                     between two chunks holds nothing: its task may be
 *                     aborted anywhere without leaking an fd. Stop early
 *                     by simply not awaiting it again.
 *
 * While one waits, exec_dump's async backtrace says what for: `fs read
 * "a.txt" (running)`, `fs write "a.txt" (100 bytes, queued)`, `fs chunks
 * "a.log" (chunk at 65536, running)`, with its job beneath it.
 *
 * The knob: FS_SLICE (256 KiB): the most one read or write call moves,
 * which bounds how long a drop waits.
 */
#ifndef FS_H
#define FS_H

#include "blocking.h"
#include <fcntl.h>
#include <sys/stat.h>

#ifndef FS_SLICE
#define FS_SLICE ((size_t)256 * 1024)
#endif

/* One slice of read(2) into p[0..n), or of pread(2) at off when off >= 0:
 * bytes read (0 at the end of the file) or -errno. Retries EINTR. */
WEFT_API ssize_t fs_read_some_(int fd, char *p, size_t n, off_t off) {
    ssize_t got;
    if (n > FS_SLICE) n = FS_SLICE;
    do got = off < 0 ? read(fd, p, n) : pread(fd, p, n, off);
    while (got < 0 && errno == EINTR);
    return got < 0 ? -errno : got;
}

/* Fill p[0..n) from fd (at offset off, or from where it stands if off < 0),
 * slice by slice, checking the stop flag: how many bytes (less than n only
 * at the end of the file), or -errno. */
WEFT_API ssize_t fs_fill_(int fd, char *p, size_t n, off_t off,
                                    blocking_job_t *job) {
    size_t have = 0;
    while (have < n) {
        ssize_t got;
        if (blocking_stopping(job)) return -ECANCELED;
        got = fs_read_some_(fd, p + have, n - have, off < 0 ? off : off + (off_t)have);
        if (got < 0) return got;
        if (got == 0) break;
        have += (size_t)got;
    }
    return (ssize_t)have;
}

/* What every helper runs on: its pool, and its scoped job. */
typedef struct fs_op {
    blocking_pool_t *pool;
    blocking_t job;
} fs_op_t;

/* What a helper is doing, in words (exec_dump): `"a.txt" (` here, then
 * what it moves, then the job's state from fs_fmt_state_. */
WEFT_API void fs_fmt_path_(future_fmt_t *o, const char *path) {
    future_fmt_str(o, "\"");
    future_fmt_str(o, path);
    future_fmt_str(o, "\" (");
}

/* "running)": read atomically, a pool thread writes it. */
WEFT_API void fs_fmt_state_(future_fmt_t *o, const fs_op_t *op) {
    int st = EXEC_LOAD_(&op->job.state);
    future_fmt_str(o, st == BLOCKING_QUEUED_ ? "queued)"
                      : st == BLOCKING_RUNNING_ ? "running)" : "done)");
}

/* The poll of a helper that is one scoped job: start fn(arg) on the pool
 * at the first poll (the job is the helper's child: dropped with it, shown
 * in its backtrace), then finish with the job's error. While it waits it
 * is of the given kind. */
WEFT_API coro_poll_t fs_run_(future_t *self, future_cx_t *cx, fs_op_t *op, blocking_fn fn,
                             void *arg, const future_kind_t *kind) {
    if (!self->child) {
        blocking_init_scoped(&op->job, op->pool, fn, arg);
        self->child = &op->job.fut;
    }
    if (future_poll(&op->job.fut, cx) == CORO_PENDING) {
        future_set_kind(self, kind);
        return CORO_PENDING;
    }
    self->child = 0;
    return future_finish(self, future_err(&op->job.fut));
}

/* ---- read a whole file -------------------------------------------------- */

typedef struct fs_read {
    future_t fut;
    FUTURE_EXT_ union {
        char *out;  /* the bytes: the caller's buf, or malloc'd (buf = 0) */
        char *data; /* the same (its older name) */
    };
    size_t len;
    /* private */
    const char *path;
    char *buf;
    size_t cap;
    fs_op_t op;
} fs_read_t;

WEFT_API int64_t fs_read_job_(void *arg, blocking_job_t *job) {
    fs_read_t *r = (fs_read_t *)arg;
    char *buf = r->buf;
    size_t cap = r->cap, len = 0;
    ssize_t got;
    int fd;
    do fd = open(r->path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return job->err = -errno, 0;
    if (!buf) { /* allocate: the file's size (+1 for the NUL), grown as needed */
        struct stat st;
        cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        buf = (char *)malloc(cap);
        if (!buf) {
            close(fd);
            return job->err = -ENOMEM, 0;
        }
        for (;;) {
            char *more;
            got = fs_fill_(fd, buf + len, cap - 1 - len, -1, job);
            if (got < 0) break;
            len += (size_t)got;
            if (len < cap - 1) break; /* the end of the file */
            more = (char *)realloc(buf, cap * 2);
            if (!more) {
                got = -ENOMEM;
                break;
            }
            buf = more;
            cap *= 2;
        }
        if (got < 0) {
            free(buf);
            buf = 0;
            len = 0;
        } else {
            buf[len] = 0;
        }
    } else {
        got = fs_fill_(fd, buf, cap, -1, job);
        if (got >= 0) {
            len = (size_t)got;
            if (len == cap) { /* full: is there more? */
                char probe;
                ssize_t more = fs_read_some_(fd, &probe, 1, -1);
                if (more > 0) got = -EFBIG;
                else if (more < 0) got = more;
            }
        }
    }
    close(fd);
    r->data = buf; /* scoped job: the future outlives us */
    r->len = len;
    if (got < 0) job->err = (int)got;
    return (int64_t)len;
}

/* `"a.txt" (running)` */
WEFT_API void fs_read_describe_(const future_t *f, future_fmt_t *o) {
    const fs_read_t *r = (const fs_read_t *)(const void *)f;
    fs_fmt_path_(o, r->path);
    fs_fmt_state_(o, &r->op);
}

WEFT_API coro_poll_t fs_read_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fs read", fs_read_describe_};
    fs_read_t *r = (fs_read_t *)(void *)self;
    return fs_run_(self, cx, &r->op, fs_read_job_, r, &kind);
}

/* Dropped before the end (the job, our child, is dropped first): a buffer
 * the job allocated never reached the caller. */
WEFT_API void fs_read_drop_(future_t *self) {
    fs_read_t *r = (fs_read_t *)(void *)self;
    if (!r->buf && r->data) free(r->data);
    r->data = 0;
    r->len = 0;
}

/* Read the whole file at path into buf[0..cap), or into a new malloc'd
 * buffer if buf is 0. path must stay valid until the future is done. */
WEFT_API void fs_read_init(fs_read_t *r, blocking_pool_t *pool, const char *path,
                                     char *buf, size_t cap) {
    future_init(&r->fut, fs_read_poll_, fs_read_drop_);
    r->data = 0;
    r->len = 0;
    r->path = path;
    r->buf = buf;
    r->cap = buf ? cap : 0;
    r->op.pool = pool;
}

/* ---- write a whole file ------------------------------------------------- */

typedef struct fs_write {
    future_t fut;
    FUTURE_EXT_ union {
        size_t out;     /* bytes written, also on error */
        size_t written; /* the same (its older name) */
    };
    /* private */
    const char *path;
    const char *data;
    size_t len;
    fs_op_t op;
} fs_write_t;

WEFT_API int64_t fs_write_job_(void *arg, blocking_job_t *job) {
    fs_write_t *w = (fs_write_t *)arg;
    size_t done = 0;
    int fd, err = 0;
    do fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return job->err = -errno, 0;
    while (done < w->len) {
        size_t n = w->len - done;
        ssize_t put;
        if (blocking_stopping(job)) {
            err = -ECANCELED;
            break;
        }
        if (n > FS_SLICE) n = FS_SLICE;
        put = write(fd, w->data + done, n);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0) {
            err = -errno;
            break;
        }
        done += (size_t)put;
    }
    if (close(fd) < 0 && !err && errno != EINTR) err = -errno;
    w->written = done;
    job->err = err;
    return (int64_t)done;
}

/* `"a.txt" (100 bytes, running)` */
WEFT_API void fs_write_describe_(const future_t *f, future_fmt_t *o) {
    const fs_write_t *w = (const fs_write_t *)(const void *)f;
    fs_fmt_path_(o, w->path);
    future_fmt_u64(o, w->len);
    future_fmt_str(o, " bytes, ");
    fs_fmt_state_(o, &w->op);
}

WEFT_API coro_poll_t fs_write_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fs write", fs_write_describe_};
    fs_write_t *w = (fs_write_t *)(void *)self;
    return fs_run_(self, cx, &w->op, fs_write_job_, w, &kind);
}

/* Create or truncate path and write data[0..len) to it. path and data must
 * stay valid until the future is done (or dropped). */
WEFT_API void fs_write_init(fs_write_t *w, blocking_pool_t *pool, const char *path,
                                      const void *data, size_t len) {
    future_init(&w->fut, fs_write_poll_, 0);
    w->written = 0;
    w->path = path;
    w->data = (const char *)data;
    w->len = len;
    w->op.pool = pool;
}

/* ---- read a file in chunks, as they are needed -------------------------- */

typedef struct fs_chunks {
    future_t fut;
    char *data;      /* this chunk: data[0..len) (the caller's buf) */
    size_t len;      /* 0 at the end of the file */
    uint64_t offset; /* where in the file this chunk starts */
    /* private */
    const char *path;
    char *buf;
    size_t cap;
    int ended;       /* end of file or error seen: the stream is over */
    int err;         /* the error it ended with */
    int busy;        /* a chunk job is in flight */
    uint64_t next;   /* the offset of the next chunk */
    fs_op_t op;
} fs_chunks_t;

/* One chunk: open, read at the chunk's offset, close. The file is open only
 * inside the job, never between two chunks: a stream abandoned between two
 * AWAITs (its task aborted while awaiting something else, where no drop
 * reaches the stream) holds nothing that could leak. */
WEFT_API int64_t fs_chunks_job_(void *arg, blocking_job_t *job) {
    fs_chunks_t *c = (fs_chunks_t *)arg;
    ssize_t got;
    int fd;
    if (c->next > (uint64_t)INT64_MAX - c->cap) return job->err = -EFBIG, 0;
    do fd = open(c->path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return job->err = -errno, 0;
    got = fs_fill_(fd, c->buf, c->cap, (off_t)c->next, job);
    close(fd); /* read-only: its error says nothing about the data */
    if (got < 0) return job->err = (int)got, 0;
    return got;
}

/* `"a.log" (chunk at 65536, running)` */
WEFT_API void fs_chunks_describe_(const future_t *f, future_fmt_t *o) {
    const fs_chunks_t *c = (const fs_chunks_t *)(const void *)f;
    fs_fmt_path_(o, c->path);
    future_fmt_str(o, "chunk at ");
    future_fmt_u64(o, c->next);
    future_fmt_str(o, ", ");
    fs_fmt_state_(o, &c->op);
}

WEFT_API coro_poll_t fs_chunks_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fs chunks", fs_chunks_describe_};
    fs_chunks_t *c = (fs_chunks_t *)(void *)self;
    int err;
    if (c->ended) { /* over: every further chunk is empty (and costs) */
        if (!future_coop_spend(cx)) return CORO_PENDING;
        c->len = 0;
        self->co.rc = c->err;
        return CORO_READY;
    }
    if (!c->busy) {
        blocking_init_scoped(&c->op.job, c->op.pool, fs_chunks_job_, c);
        c->busy = 1;
        self->child = &c->op.job.fut; /* dropped with us; in the backtrace */
    }
    if (future_poll(&c->op.job.fut, cx) == CORO_PENDING) {
        future_set_kind(self, &kind);
        return CORO_PENDING;
    }
    self->child = 0;
    c->busy = 0;
    err = future_err(&c->op.job.fut);
    c->data = c->buf;
    c->len = err < 0 ? 0 : (size_t)c->op.job.result;
    c->offset = c->next;
    c->next += c->len;
    if (err < 0 || c->len < c->cap) { /* the end, or an error */
        c->ended = 1;
        c->err = err;
    }
    self->co.rc = err;
    return CORO_READY; /* a stream: ready for this chunk, never finished */
}

WEFT_API void fs_chunks_drop_(future_t *self) {
    fs_chunks_t *c = (fs_chunks_t *)(void *)self;
    /* the chunk job (our child) was dropped first: nothing is open */
    c->busy = 0;
    c->ended = 1;
}

/* Read path in chunks of cap bytes into buf, one chunk per AWAIT. path and
 * buf must stay valid until the stream ends (or is dropped). */
WEFT_API void fs_chunks_init(fs_chunks_t *c, blocking_pool_t *pool, const char *path,
                                       char *buf, size_t cap) {
    future_init(&c->fut, fs_chunks_poll_, fs_chunks_drop_);
    c->data = buf;
    c->len = 0;
    c->offset = 0;
    c->path = path;
    c->buf = buf;
    c->cap = cap;
    c->ended = 0;
    c->err = 0;
    c->busy = 0;
    c->next = 0;
    c->op.pool = pool;
    if (!buf || !cap) {
        FUTURE_MISUSE("fs_chunks_init without a buffer: give it buf and "
                      "cap > 0 (each chunk is read into buf)");
        c->ended = 1;
        c->err = -EINVAL;
    }
}

#endif /* FS_H */
