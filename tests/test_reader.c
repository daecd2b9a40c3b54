/* Tests of io.h's buffered reading and framing: io_reader_t with
 * read_until / read_line / read_frame, write_frame and copy. Lines and
 * frames split across arbitrary chunk boundaries (a property run over
 * many random chunkings and buffer sizes, against a plain reference),
 * the errors (-EMSGSIZE with nothing lost, IO_EOF inside a frame,
 * -EINVAL), and every future dropped while it waits: the bytes a dropped
 * read had buffered are all there for the next one. Time is the paused
 * clock. */
#include "check.h"
#include "../io.h"
#include "paused.h"

static exec_t ex;

static void setup(void) { paused_init(&ex); }

static void pair(int sv[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) abort();
}

/* Poll a future once, outside any executor (argument checks fail in the
 * first poll): its error, or 1 if it is still pending. */
static void no_wake(future_waker_t *w) { (void)w; }
static int poll_once_err(future_t *f) {
    future_waker_t wk = {no_wake};
    future_cx_t cx;
    future_cx_init(&cx, &wk);
    if (future_poll(f, &cx) == CORO_PENDING) return 1;
    return future_err(f);
}

/* ---- a writer task: chunks of a byte string, one per ms, then close ---- */

typedef struct {
    future_t fut;
    io_fd_t *fd;
    const char *data;
    size_t len, at;
    const size_t *cuts; /* chunk sizes, 0-ended (then the rest) */
    int close_after;
    timer_sleep_t nap;
    io_write_all_t wr;
} feeder_t;

static coro_poll_t feeder_poll(future_t *self, future_cx_t *cx) {
    feeder_t *f = (feeder_t *)self;
    ASYNC_BEGIN(f);
    while (f->at < f->len) {
        {
            size_t n = *f->cuts ? *f->cuts++ : f->len - f->at;
            if (n > f->len - f->at) n = f->len - f->at;
            io_write_all_init(&f->wr, f->fd, f->data + f->at, n);
        }
        AWAIT_TRY(cx, &f->wr);
        f->at += f->wr.n;
        timer_sleep_init(&f->nap, TIMER_MS);
        AWAIT(cx, &f->nap);
    }
    if (f->close_after) io_shutdown(f->fd, SHUT_WR);
    ASYNC_END();
}

static void feeder_init(feeder_t *f, io_fd_t *fd, const char *data, size_t len,
                        const size_t *cuts, int close_after) {
    future_init(&f->fut, feeder_poll, 0);
    f->fd = fd;
    f->data = data;
    f->len = len;
    f->at = 0;
    f->cuts = cuts;
    f->close_after = close_after;
}

/* ---- a reader task: every line / frame into `got`, "|"-separated ---- */

enum { LINES, UNTIL, FRAMES };

typedef struct {
    future_t fut;
    io_reader_t *rd;
    int mode;
    unsigned hdr;
    size_t max;
    char got[8192];
    size_t n;
    int items, err;
    FUTURE_EXT_ union {
        io_read_line_t line;
        io_read_until_t until;
        io_read_frame_t frame;
    };
} drain_t;

static void drain_add(drain_t *f, const char *p, size_t len) {
    if (f->n + len + 1 > sizeof f->got) abort();
    memcpy(f->got + f->n, p, len);
    f->n += len;
    f->got[f->n++] = '|';
    f->items++;
}

static coro_poll_t drain_poll(future_t *self, future_cx_t *cx) {
    drain_t *f = (drain_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        if (f->mode == LINES) {
            io_read_line_init(&f->line, f->rd, f->max);
            AWAIT(cx, &f->line);
            f->err = future_err(&f->line);
            if (f->err || !f->line.data) break;
            if (f->line.data[f->line.len] != '\0') ASYNC_RETURN(-1000); /* NUL-ended */
            drain_add(f, f->line.data, f->line.len);
        } else if (f->mode == UNTIL) {
            io_read_until_init(&f->until, f->rd, ';', f->max);
            AWAIT(cx, &f->until);
            f->err = future_err(&f->until);
            if (f->err || !f->until.data) break;
            drain_add(f, f->until.data, f->until.len);
        } else {
            io_read_frame_init(&f->frame, f->rd, f->hdr, f->max);
            AWAIT(cx, &f->frame);
            f->err = future_err(&f->frame);
            if (f->err || !f->frame.data) break;
            drain_add(f, f->frame.data, f->frame.len);
        }
    }
    ASYNC_END();
}

static void drain_init(drain_t *f, io_reader_t *rd, int mode, size_t max) {
    future_init(&f->fut, drain_poll, 0);
    f->rd = rd;
    f->mode = mode;
    f->hdr = 2;
    f->max = max;
    f->n = 0;
    f->items = 0;
    f->err = 12345;
}

/* Runs feeder and drain side by side to the end. */
typedef struct {
    future_t fut;
    feeder_t *w;
    drain_t *r;
} both_t;

static coro_poll_t both_poll(future_t *self, future_cx_t *cx) {
    both_t *f = (both_t *)self;
    ASYNC_BEGIN(f);
    JOIN(cx, f->w, f->r);
    ASYNC_END();
}

/* Feed `data` in chunks `cuts` through a socketpair and drain it through
 * a reader of `cap` bytes. */
static unsigned frame_hdr = 2; /* feed_and_drain's frames' prefix */

static void feed_and_drain(const char *data, size_t len, const size_t *cuts, size_t cap,
                           drain_t *d, int mode, size_t max) {
    int sv[2];
    io_fd_t a, b;
    io_reader_t rd;
    char *buf = (char *)malloc(cap);
    feeder_t w;
    both_t both;
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, cap);
    feeder_init(&w, &a, data, len, cuts, 1);
    drain_init(d, &rd, mode, max);
    d->hdr = frame_hdr;
    future_init(&both.fut, both_poll, 0);
    both.w = &w;
    both.r = d;
    if (exec_block_on(&ex, &both.fut)) d->err = -9999;
    io_fd_close(&a);
    io_fd_close(&b);
    free(buf);
}

/* ---- lines ---------------------------------------------------------------- */

static void test_lines_across_chunks(void) {
    static const char text[] = "hello\r\nwor" "ld\n\n" "a\rb\n" "last";
    static const size_t cuts[] = {3, 7, 1, 4, 2, 0};
    drain_t d;
    setup();
    feed_and_drain(text, sizeof text - 1, cuts, 16, &d, LINES, 15);
    CHECK_EQ(d.err, 0);
    CHECK_EQ(d.items, 5);
    CHECK(d.n == strlen("hello|world||a\rb|last|") && !memcmp(d.got, "hello|world||a\rb|last|", d.n));
    exec_destroy(&ex);
}

/* A line that fills the buffer to its last byte without a "\n", at the
 * end of the stream: the NUL still fits (the line moves to the front). */
static void test_last_line_fills_the_buffer(void) {
    static const char text[] = "ab\n" "0123456";
    static const size_t cuts[] = {3, 7, 0};
    drain_t d;
    setup();
    feed_and_drain(text, sizeof text - 1, cuts, 10, &d, LINES, 9);
    CHECK_EQ(d.err, 0);
    CHECK(d.n == 11 && !memcmp(d.got, "ab|0123456|", 11));
    exec_destroy(&ex);
}

/* Too long: -EMSGSIZE, nothing consumed; the caller skips it and goes on. */
typedef struct {
    future_t fut;
    io_reader_t *rd;
    io_read_line_t line;
    int first_err;
    size_t buffered_then;
    int skipping;
    char second[16];
} skip_t;

static coro_poll_t skip_poll(future_t *self, future_cx_t *cx) {
    skip_t *f = (skip_t *)self;
    ASYNC_BEGIN(f);
    io_read_line_init(&f->line, f->rd, 4);
    AWAIT(cx, &f->line);
    f->first_err = future_err(&f->line);
    f->buffered_then = io_reader_buffered(f->rd, 0);
    /* The discard idiom (tokio's LinesCodec does it inside): drop bytes
     * up to the next "\n"; a line that ends after the buffer's end takes
     * several rounds, each a -EMSGSIZE or the tail. */
    f->skipping = 1;
    while (f->skipping) {
        {
            const char *p;
            size_t n = io_reader_buffered(f->rd, &p);
            const char *nl = (const char *)memchr(p, '\n', n);
            io_reader_consume(f->rd, nl ? (size_t)(nl - p) + 1 : n);
            f->skipping = !nl;
        }
        if (!f->skipping) break;
        io_read_line_init(&f->line, f->rd, 4);
        AWAIT(cx, &f->line);
        if (future_err(&f->line) == 0) f->skipping = 0; /* the long line's tail */
    }
    io_read_line_init(&f->line, f->rd, 4);
    AWAIT_TRY(cx, &f->line);
    if (f->line.data) memcpy(f->second, f->line.data, f->line.len + 1);
    ASYNC_END();
}

static void test_line_too_long_loses_nothing(void) {
    static const char text[] = "abcdefghij\nok\n";
    int sv[2];
    io_fd_t a, b;
    io_reader_t rd;
    char buf[8];
    skip_t f;
    setup();
    pair(sv);
    CHECK_EQ(write(sv[0], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    shutdown(sv[0], SHUT_WR);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, sizeof buf);
    future_init(&f.fut, skip_poll, 0);
    f.rd = &rd;
    f.second[0] = 0;
    CHECK_EQ(exec_block_on(&ex, &f.fut), 0);
    CHECK_EQ(f.first_err, -EMSGSIZE);
    CHECK(f.buffered_then >= 4); /* the long line's bytes are still there */
    CHECK(!strcmp(f.second, "ok"));
    io_fd_close(&a);
    io_fd_close(&b);
    exec_destroy(&ex);
}

static void test_until_limit_and_eof(void) {
    static const char text[] = "a;bb;ccc;dddddd;";
    drain_t d;
    setup();
    feed_and_drain(text, sizeof text - 1, (const size_t[]){5, 0}, 64, &d, UNTIL, 4);
    CHECK_EQ(d.err, -EMSGSIZE); /* "dddddd;": no ';' in its first 4 bytes */
    CHECK(d.n == 12 && !memcmp(d.got, "a;|bb;|ccc;|", 12));
    exec_destroy(&ex);
    setup(); /* the end of the stream: the rest comes as a last item */
    feed_and_drain("x;yz", 4, (const size_t[]){0}, 64, &d, UNTIL, 4);
    CHECK_EQ(d.err, 0);
    CHECK(d.n == 6 && !memcmp(d.got, "x;|yz|", 6));
    exec_destroy(&ex);
}

/* ---- frames --------------------------------------------------------------- */

typedef struct {
    future_t fut;
    io_fd_t *fd;
    unsigned hdr;
    int i, n, err;
    const char **msgs;
    io_write_frame_t wr;
} framer_t;

static coro_poll_t framer_poll(future_t *self, future_cx_t *cx) {
    framer_t *f = (framer_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        io_write_frame_init(&f->wr, f->fd, f->hdr, f->msgs[f->i], strlen(f->msgs[f->i]));
        AWAIT_TRY(cx, &f->wr);
        if (f->wr.out != f->hdr + strlen(f->msgs[f->i])) ASYNC_RETURN(-1000);
    }
    io_shutdown(f->fd, SHUT_WR);
    ASYNC_END();
}

static void test_frames_round_trip(void) {
    static const char *msgs[] = {"", "one", "two two", "three three three"};
    unsigned hdrs[] = {1, 2, 4};
    int h;
    for (h = 0; h < 3; h++) {
        int sv[2];
        io_fd_t a, b;
        io_reader_t rd;
        char buf[32];
        framer_t w;
        drain_t d;
        both_t both;
        setup();
        pair(sv);
        io_fd_open(&a, &ex, sv[0]);
        io_fd_open(&b, &ex, sv[1]);
        io_reader_init(&rd, &b, buf, sizeof buf);
        future_init(&w.fut, framer_poll, 0);
        w.fd = &a;
        w.hdr = hdrs[h];
        w.n = 4;
        w.msgs = msgs;
        drain_init(&d, &rd, FRAMES, 20);
        d.hdr = hdrs[h];
        future_init(&both.fut, both_poll, 0);
        both.w = (feeder_t *)(void *)&w;
        both.r = &d;
        CHECK_EQ(exec_block_on(&ex, &both.fut), 0);
        CHECK_EQ(future_err(&w.fut), 0);
        CHECK_EQ(d.err, 0);
        CHECK_EQ(d.items, 4);
        CHECK(d.n == 31 && !memcmp(d.got, "|one|two two|three three three|", 31));
        io_fd_close(&a);
        io_fd_close(&b);
        exec_destroy(&ex);
    }
}

static void test_frame_errors(void) {
    drain_t d;
    io_reader_t rd;
    io_fd_t dummy;
    io_read_frame_t fr;
    io_write_frame_t wf;
    char buf[8];
    setup();
    /* too long for max: -EMSGSIZE, the prefix still buffered */
    feed_and_drain("\x00\x09" "123456789", 11, (const size_t[]){0}, 64, &d, FRAMES, 8);
    CHECK_EQ(d.err, -EMSGSIZE);
    CHECK_EQ(d.items, 0);
    /* the stream ends inside a frame: IO_EOF */
    feed_and_drain("\x00\x02" "ab" "\x00\x05" "abc", 9, (const size_t[]){0}, 64, &d, FRAMES, 8);
    CHECK_EQ(d.err, IO_EOF);
    CHECK_EQ(d.items, 1);
    /* ...or inside a prefix */
    feed_and_drain("\x00", 1, (const size_t[]){0}, 64, &d, FRAMES, 8);
    CHECK_EQ(d.err, IO_EOF);
    /* longer than the buffer: -EMSGSIZE even under max */
    feed_and_drain("\x00\x09" "123456789", 11, (const size_t[]){0}, 8, &d, FRAMES, 100);
    CHECK_EQ(d.err, -EMSGSIZE);
    /* bad arguments: -EINVAL at the first poll */
    memset(&dummy, 0, sizeof dummy);
    io_reader_init(&rd, &dummy, buf, sizeof buf);
    io_read_frame_init(&fr, &rd, 3, 8);
    CHECK_EQ(poll_once_err(&fr.fut), -EINVAL);
    io_reader_init(&rd, &dummy, buf, 1);
    io_read_frame_init(&fr, &rd, 2, 8);
    CHECK_EQ(poll_once_err(&fr.fut), -EINVAL);
    io_write_frame_init(&wf, &dummy, 1, buf, 256);
    CHECK_EQ(poll_once_err(&wf.fut), -EINVAL);
    io_write_frame_init(&wf, &dummy, 2, buf, 70000);
    CHECK_EQ(poll_once_err(&wf.fut), -EINVAL);
    exec_destroy(&ex);
}

/* ---- the property: any chunking, any buffer, same items -------------------- */

static unsigned rng = 12345;
static unsigned rnd(unsigned n) {
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) % n;
}

static void test_any_chunking_gives_the_same_items(void) {
    int round, rounds = 300;
#ifdef CHECK_SLOW
    rounds = 40;
#endif
    for (round = 0; round < rounds; round++) {
        char data[600], want[1400];
        size_t cuts[64], len = 0, wn = 0, cap;
        int items = 0, i, mode = (int)rnd(3);
        unsigned hdr = mode == FRAMES ? (unsigned[]){1, 2, 4}[rnd(3)] : 2;
        size_t maxitem = 1 + rnd(24);
        drain_t d;
        while (len < 400) { /* items of 0..maxitem bytes (lines: + "\n") */
            size_t n = rnd((unsigned)maxitem + 1), k;
            if (mode == FRAMES) {
                for (k = 0; k < hdr; k++) data[len++] = (char)(n >> (8 * (hdr - 1 - k)));
                for (k = 0; k < n; k++) data[len++] = want[wn++] = (char)('a' + rnd(26));
            } else {
                if (mode == UNTIL && n == 0) n = 1;
                for (k = 0; k < n - (mode == UNTIL); k++) data[len++] = want[wn++] = (char)('a' + rnd(26));
                if (mode == LINES && rnd(4) == 0) data[len++] = '\r';
                data[len++] = mode == LINES ? '\n' : ';';
                if (mode == UNTIL) want[wn++] = ';';
            }
            want[wn++] = '|';
            items++;
        }
        for (i = 0; i < 63; i++) cuts[i] = 1 + rnd(40);
        cuts[63] = 0;
        /* the smallest buffer that holds any item: lines need room for a
         * "\r\n" and the NUL, frames their prefix */
        cap = maxitem + (mode == LINES ? 3 : mode == FRAMES ? hdr : 1) + rnd(40);
        setup();
        frame_hdr = hdr;
        feed_and_drain(data, len, cuts, cap, &d, mode, mode == LINES ? cap - 1 : maxitem + 1);
        frame_hdr = 2;
        if (d.err) printf("    round %d mode %d cap %zu maxitem %zu hdr %u\n", round, mode, cap, maxitem, hdr);
        CHECK_EQ(d.err, 0);
        CHECK_EQ(d.items, items);
        CHECK(d.n == wn && !memcmp(d.got, want, wn));
        exec_destroy(&ex);
    }
}

/* ---- copy ------------------------------------------------------------------ */

/* copy, then shut the far side's write end (so that the sink sees the end) */
typedef struct {
    future_t fut;
    io_copy_t cp;
    io_fd_t *to;
} copy_close_t;

static coro_poll_t copy_close_poll(future_t *self, future_cx_t *cx) {
    copy_close_t *f = (copy_close_t *)self;
    ASYNC_BEGIN(f);
    AWAIT_TRY(cx, &f->cp);
    io_shutdown(f->to, SHUT_WR);
    ASYNC_END();
}

/* read everything to the end */
typedef struct {
    future_t fut;
    io_fd_t *fd;
    char *got;
    size_t n, cap;
    io_read_t rd;
} sink_t;

static coro_poll_t sink_poll(future_t *self, future_cx_t *cx) {
    sink_t *f = (sink_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        io_read_init(&f->rd, f->fd, f->got + f->n, f->cap - f->n);
        AWAIT_TRY(cx, &f->rd);
        if (f->rd.n == 0) break;
        f->n += f->rd.n;
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    future_t *a, *b, *c;
} join3_t;

static coro_poll_t join3_poll(future_t *self, future_cx_t *cx) {
    join3_t *f = (join3_t *)self;
    ASYNC_BEGIN(f);
    JOIN(cx, f->a, f->b, f->c);
    ASYNC_END();
}

static void test_copy_everything(void) {
    static char big[100000];
    static const size_t cuts[] = {1000, 3, 30000, 0};
    int s1[2], s2[2], i;
    io_fd_t a, b, c, e;
    feeder_t w;
    copy_close_t cc;
    sink_t sk;
    join3_t j;
    char buf[512];
    for (i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7);
    setup();
    pair(s1);
    pair(s2);
    io_fd_open(&a, &ex, s1[0]);
    io_fd_open(&b, &ex, s1[1]);
    io_fd_open(&c, &ex, s2[0]);
    io_fd_open(&e, &ex, s2[1]);
    feeder_init(&w, &a, big, sizeof big, cuts, 1);
    future_init(&cc.fut, copy_close_poll, 0);
    io_copy_init(&cc.cp, &b, &c, buf, sizeof buf);
    cc.to = &c;
    future_init(&sk.fut, sink_poll, 0);
    sk.fd = &e;
    sk.cap = sizeof big + 1;
    sk.got = (char *)malloc(sk.cap);
    sk.n = 0;
    future_init(&j.fut, join3_poll, 0);
    j.a = &w.fut;
    j.b = &cc.fut;
    j.c = &sk.fut;
    CHECK_EQ(exec_block_on(&ex, &j.fut), 0);
    CHECK_EQ(cc.cp.out, sizeof big);
    CHECK_EQ(sk.n, sizeof big);
    CHECK(!memcmp(sk.got, big, sizeof big));
    free(sk.got);
    io_fd_close(&a);
    io_fd_close(&b);
    io_fd_close(&c);
    io_fd_close(&e);
    exec_destroy(&ex);
}

/* ---- dropped while waiting --------------------------------------------------- */

static int race(future_t *child, uint64_t ms) { return paused_race(&ex, child, ms); }

/* Read everything fd holds now (it must be non-blocking, or shares a
 * description an io_fd_t made so): the byte count. */
static size_t drain(int fd) {
    static char sink[65536];
    size_t total = 0;
    ssize_t n;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while ((n = read(fd, sink, sizeof sink)) > 0) total += (size_t)n;
    fcntl(fd, F_SETFL, fl);
    return total;
}

static void fill_socket(int fd) {
    static char junk[65536];
    while (write(fd, junk, sizeof junk) > 0) {}
}

/* A read dropped halfway through a line, a frame, a delimited item: the
 * next one gets the whole of it (cancel safety), and the fd takes a new
 * reader (the dropped one left no waker behind). */
static void test_reads_dropped_while_waiting_lose_nothing(void) {
    int mode;
    for (mode = LINES; mode <= FRAMES; mode++) {
        static const char *part1[] = {"hel", "he", "\x00\x05he"};
        static const char *part2[] = {"lo\n", "llo;", "llo"};
        static const char *whole[] = {"hello", "hello;", "hello"};
        int sv[2];
        io_fd_t a, b;
        io_reader_t rd;
        char buf[32];
        io_read_line_t l;
        io_read_until_t u;
        io_read_frame_t fr;
        future_t *fut = mode == LINES ? &l.fut : mode == UNTIL ? &u.fut : &fr.fut;
        const char *data;
        size_t len;
        setup();
        pair(sv);
        io_fd_open(&a, &ex, sv[0]);
        io_fd_open(&b, &ex, sv[1]);
        io_reader_init(&rd, &b, buf, sizeof buf);
        CHECK(write(sv[0], part1[mode], mode == FRAMES ? 4 : strlen(part1[mode])) > 0);
        if (mode == LINES) io_read_line_init(&l, &rd, 16);
        if (mode == UNTIL) io_read_until_init(&u, &rd, ';', 16);
        if (mode == FRAMES) io_read_frame_init(&fr, &rd, 2, 16);
        CHECK_EQ(race(fut, 5), 1); /* dropped, waiting for the rest */
        CHECK(b.io.reader == 0);
        CHECK(io_reader_buffered(&rd, 0) > 0); /* what it read is kept */
        CHECK(write(sv[0], part2[mode], strlen(part2[mode])) > 0);
        if (mode == LINES) io_read_line_init(&l, &rd, 16);
        if (mode == UNTIL) io_read_until_init(&u, &rd, ';', 16);
        if (mode == FRAMES) io_read_frame_init(&fr, &rd, 2, 16);
        CHECK_EQ(race(fut, 5), 0);
        CHECK_EQ(future_err(fut), 0);
        data = mode == LINES ? l.data : mode == UNTIL ? u.data : fr.data;
        len = mode == LINES ? l.len : mode == UNTIL ? u.len : fr.len;
        CHECK(len == strlen(whole[mode]) && !memcmp(data, whole[mode], len));
        io_fd_close(&a);
        io_fd_close(&b);
        exec_destroy(&ex);
    }
}

/* write_frame dropped in its prefix and in its payload; copy dropped in
 * its read and in its write: nothing registered is left behind (ASan and
 * valgrind see the frames go out of scope). */
static void test_writes_and_copy_dropped_while_waiting(void) {
    int sv[2], s2[2], at;
    io_fd_t a, b, c, e;
    io_write_frame_t wf;
    io_copy_t cp;
    char buf[64];
    static char payload[300000];
    for (at = 0; at < 2; at++) { /* 0: the prefix waits, 1: the payload */
        setup();
        pair(sv);
        io_fd_open(&a, &ex, sv[0]);
        io_fd_open(&b, &ex, sv[1]);
        if (at == 0) fill_socket(sv[0]);
        io_write_frame_init(&wf, &a, 4, payload, sizeof payload);
        CHECK_EQ(race(&wf.fut, 5), 1);
        CHECK(a.io.writer == 0);
        if (at == 0) CHECK_EQ(wf.out, 0);
        else CHECK(wf.out > 4 && wf.out == drain(sv[1])); /* to the byte */
        io_fd_close(&a);
        io_fd_close(&b);
        exec_destroy(&ex);
    }
    for (at = 0; at < 2; at++) { /* 0: copy waits to read, 1: to write */
        setup();
        pair(sv);
        pair(s2);
        io_fd_open(&a, &ex, sv[0]);
        io_fd_open(&b, &ex, sv[1]);
        io_fd_open(&c, &ex, s2[0]);
        io_fd_open(&e, &ex, s2[1]);
        if (at == 1) {
            fill_socket(s2[0]);
            CHECK(write(sv[0], "xyz", 3) == 3);
        }
        io_copy_init(&cp, &b, &c, buf, sizeof buf);
        CHECK_EQ(race(&cp.fut, 5), 1);
        CHECK(b.io.reader == 0 && c.io.writer == 0);
        CHECK_EQ(cp.out, 0);
        io_fd_close(&a);
        io_fd_close(&b);
        io_fd_close(&c);
        io_fd_close(&e);
        exec_destroy(&ex);
    }
    { /* copy dropped with a chunk half written: c.out counts that half */
        int in[2], out[2];
        size_t room;
        setup();
        CHECK(pipe(in) == 0 && pipe(out) == 0);
        CHECK(fcntl(in[1], F_SETFL, O_NONBLOCK) == 0);
        CHECK_EQ(write(in[1], payload, 40000), 40000);
        io_fd_open(&b, &ex, in[0]);
        io_fd_open(&c, &ex, out[1]);
        fill_socket(out[1]); /* a full pipe (64 KiB), then 8 KiB of room */
        room = (size_t)read(out[0], payload, 8192);
        CHECK_EQ(room, 8192);
        io_copy_init(&cp, &b, &c, payload + 100000, 65536);
        CHECK_EQ(race(&cp.fut, 5), 1); /* read 40000, wrote what fit */
        CHECK(cp.out > 0 && cp.out <= room);
        CHECK_EQ(drain(out[0]), 65536 - room + cp.out);
        io_fd_close(&b);
        io_fd_close(&c);
        close(in[1]);
        close(out[0]);
        exec_destroy(&ex);
    }
}

/* While it waits, exec_dump's backtrace says what for. */
typedef struct {
    future_t fut;
    future_t *child;
    char said[128];
} peek_t;

static coro_poll_t peek_poll(future_t *self, future_cx_t *cx) {
    peek_t *f = (peek_t *)self;
    future_fmt_t o = {f->said, sizeof f->said, 0, 0, 0};
    if (future_poll(f->child, cx) != CORO_PENDING) return future_finish(self, -1);
    future_describe(f->child, &o);
    future_drop(f->child);
    return future_finish(self, 0);
}

static void test_described_while_waiting(void) {
    int sv[2], mode;
    io_fd_t a, b;
    io_reader_t rd;
    char buf[32], want[64];
    io_read_line_t l;
    io_read_until_t u;
    io_read_frame_t fr;
    peek_t pk;
    static const char *names[] = {"read_line", "read_until", "read_frame"};
    for (mode = LINES; mode <= FRAMES; mode++) {
        setup();
        pair(sv);
        io_fd_open(&a, &ex, sv[0]);
        io_fd_open(&b, &ex, sv[1]);
        io_reader_init(&rd, &b, buf, sizeof buf);
        CHECK(write(sv[0], "\x00\x07" "b", 3) == 3);
        io_read_line_init(&l, &rd, 16);
        io_read_until_init(&u, &rd, ';', 16);
        io_read_frame_init(&fr, &rd, 2, 16);
        future_init(&pk.fut, peek_poll, 0);
        pk.child = mode == LINES ? &l.fut : mode == UNTIL ? &u.fut : &fr.fut;
        CHECK_EQ(exec_block_on(&ex, &pk.fut), 0);
        /* (0 bytes: the reactor has not reported the fd readable yet) */
        snprintf(want, sizeof want, "%s fd %d (0 bytes buffered)", names[mode], sv[1]);
        if (!strstr(pk.said, want)) printf("    said \"%s\"\n", pk.said);
        CHECK(strstr(pk.said, want) != 0);
        CHECK(b.io.reader == 0);
        io_fd_close(&a);
        io_fd_close(&b);
        exec_destroy(&ex);
    }
}

/* The edges: partial consume, a line ending on the buffer's last byte,
 * too long at the end of the stream, errors from the fd (reset, closed
 * handle, broken pipe on copy), arguments refused. */
static void test_edges(void) {
    int sv[2], s2[2];
    io_fd_t a, b, c, closed;
    io_reader_t rd;
    char buf[8];
    const char *p;
    io_read_line_t l;
    io_read_until_t u;
    io_copy_t cp;
    drain_t d;
    setup();
    /* consume part of what is buffered */
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, sizeof buf);
    CHECK(write(sv[0], "abcdef\n", 7) == 7);
    io_read_until_init(&u, &rd, 'c', 7);
    CHECK_EQ(paused_run1(&ex, &u.fut), 0);
    CHECK(u.len == 3 && !memcmp(u.data, "abc", 3));
    io_reader_consume(&rd, 1); /* skip "d" */
    CHECK_EQ(io_reader_buffered(&rd, &p), 3);
    CHECK(!memcmp(p, "ef\n", 3));
    /* a line whose "\n" is the buffer's last byte */
    CHECK(write(sv[0], "1234\n", 5) == 5);
    io_read_line_init(&l, &rd, 7);
    CHECK_EQ(paused_run1(&ex, &l.fut), 0);
    CHECK(!strcmp(l.data, "ef"));
    io_read_line_init(&l, &rd, 7);
    CHECK_EQ(paused_run1(&ex, &l.fut), 0);
    CHECK(!strcmp(l.data, "1234"));
    /* max 0, max >= the buffer: -EINVAL */
    io_read_line_init(&l, &rd, 0);
    CHECK_EQ(paused_run1(&ex, &l.fut), -EINVAL);
    io_read_line_init(&l, &rd, sizeof buf);
    CHECK_EQ(paused_run1(&ex, &l.fut), -EINVAL);
    io_read_until_init(&u, &rd, ';', 0);
    CHECK_EQ(paused_run1(&ex, &u.fut), -EINVAL);
    /* the peer closes with bytes it never read: a reset, as a value */
    CHECK(write(sv[1], "x", 1) == 1);
    io_fd_close(&a);
    io_read_line_init(&l, &rd, 7);
    CHECK_EQ(paused_run1(&ex, &l.fut), -ECONNRESET);
    io_fd_close(&b);
    /* a closed handle: -EBADF */
    memset(&closed, 0, sizeof closed);
    closed.io.fd = -1;
    io_reader_init(&rd, &closed, buf, sizeof buf);
    io_read_line_init(&l, &rd, 7);
    CHECK_EQ(paused_run1(&ex, &l.fut), -EBADF);
    /* copy into a peer that is gone: -EPIPE (no SIGPIPE); cap 0: -EINVAL */
    pair(sv);
    pair(s2);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_fd_open(&c, &ex, s2[0]);
    CHECK(write(sv[0], "data", 4) == 4);
    close(s2[1]);
    io_copy_init(&cp, &b, &c, buf, sizeof buf);
    CHECK_EQ(paused_run1(&ex, &cp.fut), -EPIPE);
    io_copy_init(&cp, &b, &c, buf, 0);
    CHECK_EQ(paused_run1(&ex, &cp.fut), -EINVAL);
    io_fd_close(&a);
    io_fd_close(&b);
    io_fd_close(&c);
    exec_destroy(&ex);
    /* read_until at the end of the stream with more than max left */
    setup();
    feed_and_drain("abcdefgh", 8, (const size_t[]){0}, 64, &d, UNTIL, 4);
    CHECK_EQ(d.err, -EMSGSIZE);
    exec_destroy(&ex);
}

/* fill: ready only with a byte more than at init (dropped at each wait
 * with nothing lost and no waker left behind), everything buffered as
 * the result, nothing consumed; the end, with and without bytes left;
 * -EMSGSIZE when full; fd errors. */
static void test_fill(void) {
    int sv[2];
    io_fd_t a, b, closed;
    io_reader_t rd;
    char buf[8];
    io_fill_t f;
    const char *p;
    setup();
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, sizeof buf);
    io_fill_init(&f, &rd);
    CHECK_EQ(race(&f.fut, 5), 1); /* dropped waiting: nothing there */
    CHECK(b.io.reader == 0);
    CHECK(write(sv[0], "ab", 2) == 2);
    io_fill_init(&f, &rd);
    CHECK_EQ(race(&f.fut, 5), 0);
    CHECK(f.len == 2 && !memcmp(f.data, "ab", 2));
    CHECK_EQ(io_reader_buffered(&rd, 0), 2); /* not consumed */
    io_fill_init(&f, &rd); /* holds 2: waits for a third byte */
    CHECK_EQ(race(&f.fut, 5), 1); /* dropped at its second wait */
    CHECK(b.io.reader == 0);
    CHECK_EQ(io_reader_buffered(&rd, &p), 2);
    CHECK(!memcmp(p, "ab", 2));
    CHECK(write(sv[0], "cdefgh", 6) == 6);
    io_fill_init(&f, &rd);
    CHECK_EQ(race(&f.fut, 5), 0);
    CHECK(f.len == 8 && !memcmp(f.data, "abcdefgh", 8));
    io_fill_init(&f, &rd); /* full: nothing more can come */
    CHECK_EQ(paused_run1(&ex, &f.fut), -EMSGSIZE);
    io_reader_consume(&rd, 3); /* room at the front: the rest moves there */
    CHECK(write(sv[0], "ij", 2) == 2);
    io_fill_init(&f, &rd);
    CHECK_EQ(paused_run1(&ex, &f.fut), 0);
    CHECK(f.len == 7 && !memcmp(f.data, "defghij", 7) && f.data == buf);
    /* the end with bytes left: them; then the end itself: data 0 */
    io_shutdown(&a, SHUT_WR);
    io_fill_init(&f, &rd);
    CHECK_EQ(paused_run1(&ex, &f.fut), 0);
    CHECK(f.len == 7 && f.data == buf);
    io_reader_consume(&rd, 7);
    io_fill_init(&f, &rd);
    CHECK_EQ(paused_run1(&ex, &f.fut), 0);
    CHECK(f.len == 0 && f.data == 0);
    io_fd_close(&a);
    io_fd_close(&b);
    /* a closed handle: -EBADF */
    memset(&closed, 0, sizeof closed);
    closed.io.fd = -1;
    io_reader_init(&rd, &closed, buf, sizeof buf);
    io_fill_init(&f, &rd);
    CHECK_EQ(paused_run1(&ex, &f.fut), -EBADF);
    exec_destroy(&ex);
}

/* try_fill: -EAGAIN with nothing there, bytes into the free space (the
 * rest moved to the front when the back is full), -EMSGSIZE when full,
 * 0 at the end. */
static void test_try_fill(void) {
    int sv[2];
    io_fd_t a, b;
    io_reader_t rd;
    char buf[8];
    const char *p;
    io_readable_t ready;
    io_fill_t f;
    setup();
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, sizeof buf);
    CHECK_EQ(io_reader_try_fill(&rd), -EAGAIN);
    CHECK(write(sv[0], "abcdefghij", 10) == 10);
    io_readable_init(&ready, &b); /* (try_read reads once the reactor saw it) */
    CHECK_EQ(paused_run1(&ex, &ready.fut), 0);
    CHECK_EQ(io_reader_try_fill(&rd), 8);
    CHECK_EQ(io_reader_try_fill(&rd), -EMSGSIZE);
    io_reader_consume(&rd, 5);
    io_readable_init(&ready, &b);
    CHECK_EQ(paused_run1(&ex, &ready.fut), 0);
    CHECK_EQ(io_reader_try_fill(&rd), 2); /* "fgh" moved to the front */
    CHECK_EQ(io_reader_buffered(&rd, &p), 5);
    CHECK(p == buf && !memcmp(p, "fghij", 5));
    io_fd_close(&a);
    io_readable_init(&ready, &b);
    CHECK_EQ(paused_run1(&ex, &ready.fut), 0);
    CHECK_EQ(io_reader_try_fill(&rd), 0);
    CHECK_EQ(io_reader_buffered(&rd, 0), 5); /* the end keeps what is there */
    io_fill_init(&f, &rd); /* and is remembered: fill is ready at once */
    CHECK_EQ(poll_once_err(&f.fut), 0);
    CHECK(f.len == 5 && f.data == buf);
    io_fd_close(&b);
    exec_destroy(&ex);
}

/* rebuffer: a reader on a shared scratch moves its leftover home, grows,
 * compacts in place; -EMSGSIZE when it does not fit (nothing changes);
 * reads go to the new buffer; a read_line still works after. */
static void test_rebuffer(void) {
    int sv[2];
    io_fd_t a, b;
    io_reader_t rd;
    char scratch[16], home[4], big[32];
    const char *p;
    io_read_line_t l;
    setup();
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, scratch, sizeof scratch);
    CHECK(write(sv[0], "one\ntwo", 7) == 7);
    io_read_line_init(&l, &rd, 15);
    CHECK_EQ(paused_run1(&ex, &l.fut), 0);
    CHECK(!strcmp(l.data, "one"));
    CHECK_EQ(io_reader_rebuffer(&rd, home, 2), -EMSGSIZE); /* "two" is 3 */
    CHECK_EQ(io_reader_buffered(&rd, &p), 3);
    CHECK(p == scratch + 4 && !memcmp(p, "two", 3));
    CHECK_EQ(io_reader_rebuffer(&rd, home, sizeof home), 0);
    memset(scratch, 'X', sizeof scratch); /* the scratch is free again */
    CHECK_EQ(io_reader_buffered(&rd, &p), 3);
    CHECK(p == home && !memcmp(p, "two", 3));
    io_reader_consume(&rd, 1);
    CHECK_EQ(io_reader_rebuffer(&rd, home, sizeof home), 0); /* compacts */
    CHECK_EQ(io_reader_buffered(&rd, &p), 2);
    CHECK(p == home && !memcmp(p, "wo", 2));
    CHECK_EQ(io_reader_rebuffer(&rd, big, sizeof big), 0); /* grows */
    CHECK(write(sv[0], " three\n", 7) == 7);
    io_read_line_init(&l, &rd, 31);
    CHECK_EQ(paused_run1(&ex, &l.fut), 0);
    CHECK(!strcmp(l.data, "wo three") && l.data == big);
    CHECK_EQ(io_reader_buffered(&rd, 0), 0);
    CHECK_EQ(io_reader_rebuffer(&rd, 0, 0), 0); /* empty: fits anywhere */
    CHECK_EQ(io_reader_rebuffer(&rd, scratch, sizeof scratch), 0);
    CHECK_EQ(io_reader_try_fill(&rd), -EAGAIN);
    io_fd_close(&a);
    io_fd_close(&b);
    exec_destroy(&ex);
}

/* fill described while it waits (and dropped there by peek). */
static void test_fill_described(void) {
    int sv[2];
    io_fd_t a, b;
    io_reader_t rd;
    char buf[8], want[64];
    io_fill_t f;
    peek_t pk;
    setup();
    pair(sv);
    io_fd_open(&a, &ex, sv[0]);
    io_fd_open(&b, &ex, sv[1]);
    io_reader_init(&rd, &b, buf, sizeof buf);
    io_fill_init(&f, &rd);
    future_init(&pk.fut, peek_poll, 0);
    pk.child = &f.fut;
    CHECK_EQ(exec_block_on(&ex, &pk.fut), 0);
    snprintf(want, sizeof want, "fill fd %d (0 bytes buffered)", sv[1]);
    if (!strstr(pk.said, want)) printf("    said \"%s\"\n", pk.said);
    CHECK(strstr(pk.said, want) != 0);
    CHECK(b.io.reader == 0);
    io_fd_close(&a);
    io_fd_close(&b);
    exec_destroy(&ex);
}

int main(void) {
    alarm(120); /* a desynchronised frame stream waits forever: fail instead */
    RUN(test_lines_across_chunks);
    RUN(test_last_line_fills_the_buffer);
    RUN(test_line_too_long_loses_nothing);
    RUN(test_until_limit_and_eof);
    RUN(test_frames_round_trip);
    RUN(test_frame_errors);
    RUN(test_any_chunking_gives_the_same_items);
    RUN(test_copy_everything);
    RUN(test_reads_dropped_while_waiting_lose_nothing);
    RUN(test_writes_and_copy_dropped_while_waiting);
    RUN(test_described_while_waiting);
    RUN(test_edges);
    RUN(test_fill);
    RUN(test_try_fill);
    RUN(test_rebuffer);
    RUN(test_fill_described);
    return check_summary();
}
