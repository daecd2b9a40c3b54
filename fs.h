/* fs.h - async file helpers on the blocking pool (tokio::fs, in C).
 *
 * Regular-file I/O blocks the thread that does it (Linux has no readiness
 * for files), so these futures run the open / read / write / close calls,
 * and stat, rename, unlink, mkdir, readdir, as jobs on a blocking_pool_t
 * (blocking.h) and wake the task when they are done. The executor's thread
 * never blocks on the disk.
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
 *     fs_stat_t st;  fs_call_t mk;  fs_dir_t dir;  fs_dirent_t ents[16];
 *     const fs_dirent_t *e;
 *     ...
 *     fs_stat_init(&f->st, &pool, "out.txt");
 *     AWAIT_TRY(cx, &f->st);                      // f->st.out: a struct stat
 *     fs_mkdir_all_init(&f->mk, &pool, "a/b/c", 0755);
 *     AWAIT_TRY(cx, &f->mk);                      // mkdir -p
 *     FS_DIR_INIT(&f->dir, &pool, "a", f->ents, 16); // owned by this frame
 *     for (;;) {                                  // a stream of entries
 *         AWAIT_NEXT(cx, &f->dir, f->e);          // sync.h's protocol
 *         if (!f->e) break;                       // the end, or an error:
 *         puts(f->e->name);                       // future_err(&f->dir.st)
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
 *   fs_stat_t    fs_stat_init(&s, &pool, path) / fs_lstat_init: stat(2) /
 *                     lstat(2) (a symlink itself) into s.out, a struct stat
 *                     in the future: caller memory, every field the system
 *                     gives, S_ISDIR and friends work on it (tokio's
 *                     metadata / symlink_metadata).
 *   fs_call_t    one call on a path, no result but its error:
 *                     fs_rename_init(&c, &pool, from, to)   rename(2): replaces
 *                                                       a file at to
 *                     fs_remove_init(&c, &pool, path)       unlink(2) a file
 *                     fs_remove_dir_init(&c, &pool, path)   rmdir(2): an empty
 *                                                       directory
 *                     fs_mkdir_init(&c, &pool, path, mode)  mkdir(2), mode &
 *                                                       ~umask; -EEXIST
 *                     fs_mkdir_all_init(&c, &pool, path, mode)  mkdir -p: every
 *                                      missing parent too; a directory
 *                                      already there is success, and so
 *                                      is "" (tokio's create_dir_all)
 *   fs_dir_t     fs_dir_init(&d, &pool, path, ents, cap): the entries of a
 *                     directory, a stream in sync.h's protocol (AWAIT_NEXT
 *                     gives a const fs_dirent_t *, 0 at the end, then
 *                     future_err(&d.st) is 0 or the error; take, filter,
 *                     map... compose with it). Each job reads a batch of up
 *                     to cap entries into the caller's ents[0..cap); "."
 *                     and ".." are left out; the order is the file
 *                     system's. fs_dirent_t: name (NUL-terminated), type
 *                     (DT_REG, DT_DIR, ..., or DT_UNKNOWN: then stat it),
 *                     ino. An entry is valid until the next AWAIT_NEXT
 *                     (or the drop).
 *                     Entries read before an error are handed out first.
 *                     Unlike fs_chunks_t, the directory stays open from the
 *                     first batch to the end (a directory has no offset
 *                     that a fresh open could resume at, portably), so a
 *                     stream left before its end must be dropped:
 *                     future_drop(&d.st.fut), or made with FS_DIR_INIT
 *                     inside an async body: the frame then owns it and drops
 *                     it when the frame is dropped (its task aborted) or
 *                     finishes. fs_dir_own(&d, owner) does the same for
 *                     another frame. A combinator over it (sync_take_t) does
 *                     not own it: drop the stream when done.
 *
 * Cancel-safety: dropping a future, by its job's state (blocking.h's
 * scoped column). Not yet polled, or queued: the job never runs, nothing
 * happens. Running: the drop raises the stop flag and waits for the job to
 * return (at most one system call, one FS_SLICE, or one step); the result
 * is discarded, but an effect already made stays, as in tokio (the future
 * says -ECANCELED, whatever happened). Per operation:
 *   fs_read_t, fs_stat_t  safe: nothing changes; a buffer the job
 *                          allocated is freed
 *   fs_write_t            the file may be created, truncated and partly
 *                          written (the slices done before the stop)
 *   fs_chunks_t           safe: the chunk in flight is lost; nothing open
 *   fs_call_t: rename,    the call is atomic: it happened entirely or
 *   remove, remove_dir,   not at all, and the future cannot say which
 *   mkdir                 (stat to find out)
 *   fs_call_t: mkdir_all  stops before its next directory: the parents made
 *                          so far stay (call it again: it finishes the job)
 *   fs_dir_t              read-only: nothing changes. Mid-batch: the batch
 *                          is lost, the directory closed. Between items:
 *                          the directory is closed by the drop (on the
 *                          executor's thread: closedir does not wait on the
 *                          disk); not dropped and not owned by a frame, it
 *                          stays open (see fs_dir_t above)
 *
 * While one waits, exec_dump's async backtrace says what for: `fs read
 * "a.txt" (running)`, `fs write "a.txt" (100 bytes, queued)`, `fs chunks
 * "a.log" (chunk at 65536, running)`, `fs stat "a" (queued)`, `fs rename
 * "a" to "b" (running)`, `fs mkdir_all "a/b" (running)`, `fs dir "src"
 * (32 entries, running)` (32 handed out so far), with its job beneath it.
 *
 * Misuse: a path of 0 given to fs_stat_init, fs_lstat_init, an fs_call_t
 * init (either of rename's) or fs_dir_init, or an fs_dir_t / fs_chunks_t
 * without a buffer, is reported (FUTURE_MISUSE) and the future (stream)
 * finishes with -EINVAL at its first poll, without a job.
 *
 * fs.h includes sync.h (fs_dir_t is a sync_stream_t).
 *
 * The knob: FS_SLICE (256 KiB): the most one read or write call moves,
 * which bounds how long a drop waits.
 */
#ifndef FS_H
#define FS_H

#include "blocking.h"
#include "sync.h" /* sync_stream_t: fs_dir_t is a stream */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* rename */
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
    int err; /* misuse found by the init: finish with it, run no job */
} fs_op_t;

WEFT_API void fs_op_init_(fs_op_t *op, blocking_pool_t *pool) {
    op->pool = pool;
    op->err = 0;
}

/* For an init: a path argument that is 0 is misuse (what would the job
 * stat?). The future then finishes with -EINVAL at its first poll. */
WEFT_API void fs_check_path_(fs_op_t *op, const char *path, const char *what) {
    if (path) return;
    FUTURE_MISUSE(what);
    op->err = -EINVAL;
}

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
    if (op->err) return future_leaf_ready(self, cx, op->err);
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
    fs_op_init_(&r->op, pool);
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
    fs_op_init_(&w->op, pool);
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
    fs_op_init_(&c->op, pool);
    if (!buf || !cap) {
        FUTURE_MISUSE("fs_chunks_init without a buffer: give it buf and "
                      "cap > 0 (each chunk is read into buf)");
        c->ended = 1;
        c->err = -EINVAL;
    }
}

/* ---- metadata: stat / lstat --------------------------------------------- */

/* The result is the system's struct stat, not a type of ours: the call
 * fills it in place (no copy), it has every field the system keeps (times
 * to the nanosecond, inode, links, device), and S_ISDIR and friends read
 * it. It lives in the future, which is caller memory like every buffer
 * here. */
typedef struct fs_stat {
    future_t fut;
    struct stat out; /* the file's metadata, once ready without error */
    /* private */
    const char *path;
    int nofollow;    /* lstat: a symlink itself, not what it points to */
    fs_op_t op;
} fs_stat_t;

WEFT_API int64_t fs_stat_job_(void *arg, blocking_job_t *job) {
    fs_stat_t *s = (fs_stat_t *)arg;
    int rc;
    do rc = s->nofollow ? lstat(s->path, &s->out) : stat(s->path, &s->out);
    while (rc < 0 && errno == EINTR); /* a network file system's signal */
    if (rc < 0) job->err = -errno;
    return 0;
}

/* `"a.txt" (running)` */
WEFT_API void fs_stat_describe_(const future_t *f, future_fmt_t *o) {
    const fs_stat_t *s = (const fs_stat_t *)(const void *)f;
    fs_fmt_path_(o, s->path);
    fs_fmt_state_(o, &s->op);
}

WEFT_API coro_poll_t fs_stat_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[2] = {{FUTURE_KIND_TAG_, "fs stat", fs_stat_describe_},
                                           {FUTURE_KIND_TAG_, "fs lstat", fs_stat_describe_}};
    fs_stat_t *s = (fs_stat_t *)(void *)self;
    return fs_run_(self, cx, &s->op, fs_stat_job_, s, &kinds[s->nofollow]);
}

WEFT_API void fs_stat_init_(fs_stat_t *s, blocking_pool_t *pool, const char *path,
                            int nofollow) {
    future_init(&s->fut, fs_stat_poll_, 0);
    memset(&s->out, 0, sizeof s->out);
    s->path = path;
    s->nofollow = nofollow;
    fs_op_init_(&s->op, pool);
    fs_check_path_(&s->op, path, "fs_stat_init / fs_lstat_init without a path");
}

/* stat(2) path into s.out (tokio::fs::metadata): symlinks are followed.
 * path must stay valid until the future is done (or dropped). */
WEFT_API void fs_stat_init(fs_stat_t *s, blocking_pool_t *pool, const char *path) {
    fs_stat_init_(s, pool, path, 0);
}

/* lstat(2): a symlink's own metadata (tokio::fs::symlink_metadata). */
WEFT_API void fs_lstat_init(fs_stat_t *s, blocking_pool_t *pool, const char *path) {
    fs_stat_init_(s, pool, path, 1);
}

/* ---- one call on a path: rename, remove, remove_dir, mkdir, mkdir_all ---- */

enum { /* fs_call_t.what (private) */
    FS_RENAME_ = 0,
    FS_REMOVE_,
    FS_REMOVE_DIR_,
    FS_MKDIR_,
    FS_MKDIR_ALL_
};

typedef struct fs_call {
    future_t fut;
    /* private */
    const char *path;
    const char *to;  /* rename's new name */
    mode_t mode;     /* mkdir's */
    int what;        /* FS_RENAME_, ... */
    fs_op_t op;
} fs_call_t;

/* mkdir(2) that counts a directory already there as done: 0, -EEXIST (a
 * file is there), or mkdir's -errno. */
WEFT_API int fs_mkdir_one_(const char *path, mode_t mode) {
    struct stat st;
    int rc;
    do rc = mkdir(path, mode);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) return 0;
    rc = -errno;
    if (rc == -EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    return rc;
}

/* fs_mkdir_one_ on the first end bytes of buf[0..n): cut there, put back. */
WEFT_API int fs_mkdir_prefix_(char *buf, size_t end, mode_t mode) {
    char was = buf[end];
    int rc;
    buf[end] = 0;
    rc = fs_mkdir_one_(buf, mode);
    buf[end] = was;
    return rc;
}

/* mkdir -p path (tokio::fs::create_dir_all): walk back from the whole path
 * while the parent is missing (-ENOENT), to the deepest directory that
 * exists or can be made, then make each one after it on the way forward.
 * A path that exists already costs one mkdir and one stat. The path is
 * copied (this thread's stack) so that it can be cut at each '/'. The stop
 * flag is checked before each step: dropped, it stops part way, and the
 * directories made so far stay. */
WEFT_API int fs_mkdir_all_(const char *path, mode_t mode, blocking_job_t *job) {
    char buf[PATH_MAX];
    size_t n = strlen(path), end;
    int rc;
    if (n == 0) return 0; /* "": nothing to make (as std's create_dir_all) */
    if (n >= sizeof buf) return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = 0; /* "a/b/" is "a/b" */
    end = n;
    for (;;) { /* back: buf[0..end) is the directory to try */
        if (blocking_stopping(job)) return -ECANCELED;
        rc = fs_mkdir_prefix_(buf, end, mode);
        if (rc != -ENOENT) break;
        while (end > 0 && buf[end - 1] != '/') end--; /* its parent... */
        while (end > 1 && buf[end - 1] == '/') end--; /* ...without the '/' */
        if (end == 0 || buf[end - 1] == '/') return rc; /* no parent left */
    }
    while (rc == 0 && end < n) { /* forward: one component further */
        if (blocking_stopping(job)) return -ECANCELED;
        while (buf[end] == '/') end++;
        while (end < n && buf[end] != '/') end++;
        rc = fs_mkdir_prefix_(buf, end, mode);
    }
    return rc;
}

WEFT_API int64_t fs_call_job_(void *arg, blocking_job_t *job) {
    fs_call_t *c = (fs_call_t *)arg;
    int rc;
    if (c->what == FS_MKDIR_ALL_) {
        job->err = fs_mkdir_all_(c->path, c->mode, job);
        return 0;
    }
    do rc = c->what == FS_RENAME_   ? rename(c->path, c->to)
          : c->what == FS_REMOVE_   ? unlink(c->path)
          : c->what == FS_REMOVE_DIR_ ? rmdir(c->path)
                                      : mkdir(c->path, c->mode);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) job->err = -errno;
    return 0;
}

/* `"a.txt" (running)`, or for a rename `"a.txt" to "b.txt" (running)` */
WEFT_API void fs_call_describe_(const future_t *f, future_fmt_t *o) {
    const fs_call_t *c = (const fs_call_t *)(const void *)f;
    if (c->what == FS_RENAME_) {
        future_fmt_str(o, "\"");
        future_fmt_str(o, c->path);
        future_fmt_str(o, "\" to ");
        fs_fmt_path_(o, c->to);
    } else {
        fs_fmt_path_(o, c->path);
    }
    fs_fmt_state_(o, &c->op);
}

WEFT_API coro_poll_t fs_call_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[5] = {
        {FUTURE_KIND_TAG_, "fs rename", fs_call_describe_},
        {FUTURE_KIND_TAG_, "fs remove", fs_call_describe_},
        {FUTURE_KIND_TAG_, "fs remove_dir", fs_call_describe_},
        {FUTURE_KIND_TAG_, "fs mkdir", fs_call_describe_},
        {FUTURE_KIND_TAG_, "fs mkdir_all", fs_call_describe_}};
    fs_call_t *c = (fs_call_t *)(void *)self;
    return fs_run_(self, cx, &c->op, fs_call_job_, c, &kinds[c->what]);
}

WEFT_API void fs_call_init_(fs_call_t *c, blocking_pool_t *pool, int what, const char *path,
                            const char *to, mode_t mode, const char *misuse) {
    future_init(&c->fut, fs_call_poll_, 0);
    c->path = path;
    c->to = to;
    c->mode = mode;
    c->what = what;
    fs_op_init_(&c->op, pool);
    fs_check_path_(&c->op, path, misuse);
    if (what == FS_RENAME_) fs_check_path_(&c->op, to, misuse);
}

/* rename(2) from to to (tokio::fs::rename): replaces a file at to. Both
 * paths must stay valid until the future is done (or dropped). */
WEFT_API void fs_rename_init(fs_call_t *c, blocking_pool_t *pool, const char *from,
                             const char *to) {
    fs_call_init_(c, pool, FS_RENAME_, from, to, 0, "fs_rename_init without a path");
}

/* unlink(2) a file (tokio::fs::remove_file); a directory is -EISDIR. */
WEFT_API void fs_remove_init(fs_call_t *c, blocking_pool_t *pool, const char *path) {
    fs_call_init_(c, pool, FS_REMOVE_, path, 0, 0, "fs_remove_init without a path");
}

/* rmdir(2) an empty directory (tokio::fs::remove_dir): -ENOTEMPTY if not. */
WEFT_API void fs_remove_dir_init(fs_call_t *c, blocking_pool_t *pool, const char *path) {
    fs_call_init_(c, pool, FS_REMOVE_DIR_, path, 0, 0, "fs_remove_dir_init without a path");
}

/* mkdir(2) path with mode & ~umask (tokio::fs::create_dir); -EEXIST if
 * anything is there. */
WEFT_API void fs_mkdir_init(fs_call_t *c, blocking_pool_t *pool, const char *path,
                            mode_t mode) {
    fs_call_init_(c, pool, FS_MKDIR_, path, 0, mode, "fs_mkdir_init without a path");
}

/* mkdir -p (tokio::fs::create_dir_all): path and every missing parent,
 * each with mode & ~umask; a directory already there is success. */
WEFT_API void fs_mkdir_all_init(fs_call_t *c, blocking_pool_t *pool, const char *path,
                                mode_t mode) {
    fs_call_init_(c, pool, FS_MKDIR_ALL_, path, 0, mode, "fs_mkdir_all_init without a path");
}

/* ---- list a directory: a stream of entries ------------------------------ */

/* One entry, in the caller's array. */
typedef struct fs_dirent {
    char name[NAME_MAX + 1]; /* NUL-terminated; never "." or ".." */
    unsigned char type;      /* DT_REG, DT_DIR, DT_LNK, ... or DT_UNKNOWN
                                (0: the file system does not say: stat) */
    uint64_t ino;
} fs_dirent_t;

typedef struct fs_dir {
    sync_stream_t st; /* first: a stream of const fs_dirent_t * */
    /* private */
    const char *path;
    fs_dirent_t *ents;
    size_t cap;
    size_t n, i;      /* the batch in hand: ents[i..n) not handed out yet */
    uint64_t count;   /* entries handed out (the backtrace) */
    DIR *dir;         /* open from the first batch to the last */
    int eof;          /* the last batch is in hand: the end comes after it */
    int err;          /* and the error it ends with */
    int busy;         /* a batch job is in flight */
    future_owned_t own; /* in the owner frame's list (fs_dir_own), or not */
    fs_op_t op;
} fs_dir_t;

/* Close the directory, if open. On the executor's thread when a stream is
 * dropped between batches: closedir frees a buffer and closes an fd, it
 * does not wait on the disk. */
WEFT_API void fs_dir_close_(fs_dir_t *d) {
    if (d->dir) closedir(d->dir);
    d->dir = 0;
}

/* One batch: open the directory at the first, then up to cap entries into
 * the caller's array (each is copied: readdir's buffer belongs to the
 * DIR). At the end or an error the job closes the directory itself, so a
 * stream read to its end holds nothing. */
WEFT_API int64_t fs_dir_job_(void *arg, blocking_job_t *job) {
    fs_dir_t *d = (fs_dir_t *)arg;
    size_t n = 0, len;
    struct dirent *e;
    if (!d->dir) {
        do d->dir = opendir(d->path);
        while (!d->dir && errno == EINTR);
        if (!d->dir) return d->eof = 1, job->err = -errno, 0;
    }
    while (n < d->cap) {
        if (blocking_stopping(job)) return job->err = -ECANCELED, 0; /* the drop closes */
        errno = 0;
        if (!(e = readdir(d->dir))) {
            d->eof = 1;
            job->err = -errno; /* 0: the end */
            break;
        }
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        len = strlen(e->d_name);
        if (len > NAME_MAX) { /* no Linux file system makes one, but */
            d->eof = 1;
            job->err = -ENAMETOOLONG;
            break;
        }
        memcpy(d->ents[n].name, e->d_name, len + 1);
#ifdef DT_UNKNOWN
        d->ents[n].type = e->d_type;
#else
        d->ents[n].type = 0;
#endif
        d->ents[n].ino = (uint64_t)e->d_ino;
        n++;
    }
    if (d->eof) fs_dir_close_(d);
    return (int64_t)n;
}

/* `"src" (12 entries, running)` */
WEFT_API void fs_dir_describe_(const future_t *f, future_fmt_t *o) {
    const fs_dir_t *d = (const fs_dir_t *)(const void *)f;
    fs_fmt_path_(o, d->path);
    future_fmt_u64(o, d->count);
    future_fmt_str(o, " entries, ");
    fs_fmt_state_(o, &d->op);
}

/* The next entry from the batch in hand, or the end after the last batch,
 * or a job for the next batch. Each entry costs one unit of the task's
 * budget, like any stream's item. While a job is in flight the frame's
 * batch fields are the job's (it writes n's entries, eof, dir): only its
 * completion hands them back, so a poll in between (a spurious wake) looks
 * at nothing but the job. */
WEFT_API coro_poll_t fs_dir_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fs dir", fs_dir_describe_};
    fs_dir_t *d = (fs_dir_t *)(void *)self;
    int err;
    for (;;) {
        if (!d->busy) {
            if (d->i < d->n) {
                if (!future_coop_spend(cx)) return CORO_PENDING;
                d->count++;
                return sync_stream_yield(&d->st, &d->ents[d->i++]);
            }
            if (d->eof) { /* over: let go of everything */
                fs_dir_close_(d); /* open still if the pool refused the job */
                future_owned_unlink(&d->own);
                return sync_stream_end(&d->st, d->err);
            }
            blocking_init_scoped(&d->op.job, d->op.pool, fs_dir_job_, d);
            d->busy = 1;
            self->child = &d->op.job.fut; /* dropped with us; in the backtrace */
        }
        if (future_poll(&d->op.job.fut, cx) == CORO_PENDING) {
            future_set_kind(self, &kind);
            return CORO_PENDING;
        }
        self->child = 0;
        d->busy = 0;
        err = future_err(&d->op.job.fut);
        d->n = (size_t)d->op.job.out; /* entries read, also before an error */
        d->i = 0;
        if (err < 0) {
            d->eof = 1; /* a pool error too (-EAGAIN, -ECANCELED: never ran) */
            d->err = err;
        }
    }
}

/* Dropped: the batch job (our child) was dropped first, waiting for it if
 * it ran, so the directory is ours to close. */
WEFT_API void fs_dir_drop_(future_t *self) {
    fs_dir_t *d = (fs_dir_t *)(void *)self;
    future_owned_unlink(&d->own);
    fs_dir_close_(d);
    d->busy = 0;
    d->n = d->i = 0;
    d->eof = 1;
}

/* The owner frame went (dropped or finished): drop the stream with it. */
WEFT_API void fs_dir_owner_gone_(future_owned_t *n) {
    future_drop(&FUTURE_CONTAINER_OF(n, fs_dir_t, own)->st.fut);
}

/* List the directory at path: a stream (sync.h's protocol: AWAIT_NEXT, and
 * every stream combinator) of const fs_dirent_t *, read in batches of up
 * to cap entries into ents[0..cap). path and ents must stay valid until
 * the stream ends or is dropped. */
WEFT_API void fs_dir_init(fs_dir_t *d, blocking_pool_t *pool, const char *path,
                          fs_dirent_t *ents, size_t cap) {
    sync_stream_init(&d->st, fs_dir_poll_, fs_dir_drop_);
    d->path = path;
    d->ents = ents;
    d->cap = cap;
    d->n = d->i = 0;
    d->count = 0;
    d->dir = 0;
    d->eof = 0;
    d->err = 0;
    d->busy = 0;
    d->own.next = 0;
    d->own.pprev = 0;
    d->own.drop = 0;
    fs_op_init_(&d->op, pool);
    if (!path || !ents || !cap) {
        FUTURE_MISUSE("fs_dir_init without a path, or without entries: give it "
                      "ents and cap > 0 (each batch is read into ents)");
        d->eof = 1;
        d->err = -EINVAL;
    }
}

/* Make the stream owned by frame owner: dropped (the directory closed)
 * when owner is dropped or finishes, wherever the stream then is. */
WEFT_API void fs_dir_own(fs_dir_t *d, future_t *owner) {
    future_owned_unlink(&d->own);
    future_own(owner, &d->own, fs_dir_owner_gone_);
}

WEFT_API void fs_dir_init_owned_(fs_dir_t *d, blocking_pool_t *pool, const char *path,
                                 fs_dirent_t *ents, size_t cap, future_t *owner) {
    if (future_owns_(owner, &d->own)) { /* made again (a second listing in */
        future_owned_unlink(&d->own);   /* one field): the first one closed */
        future_drop(&d->st.fut);
    }
    fs_dir_init(d, pool, path, ents, cap);
    fs_dir_own(d, owner);
}

/* Inside an async body: fs_dir_init, the stream owned by this frame. Run
 * again on the same fs_dir_t (a second listing), it first drops the first
 * one (its directory closed), as the frame would. */
#define FS_DIR_INIT(d, pool, path, ents, cap)                                  \
    fs_dir_init_owned_((d), (pool), (path), (ents), (cap), FUTURE_SELF_)

#endif /* FS_H */
