/* bench_sync: micro benchmarks of sync.h, in process.
 *
 *   chan_pingpong      two tasks, two channels of capacity 1: one sends a
 *                      number, the other sends it back (tokio's mpsc ping-
 *                      pong in bench/peers/tokio); ns per round trip
 *   mutex_uncontended  AWAIT a lock of a free mutex, then unlock it; ns per
 *                      lock + unlock
 *
 * Each prints the median of 5 runs (--runs N: of N, 1..5; bench/run.sh
 * passes --runs 1 and takes the median over its rounds). --quick: tiny
 * sizes, one run, numbers not meaningful (a smoke test).
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 bench/bench_sync.c -o build/bench_sync -lpthread
 */
#include "../exec.h"
#include "../sync.h"

enum { RUNS = 5 };

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* ---- chan_pingpong ------------------------------------------------------ */

typedef struct {
    future_t fut;
    sync_chan_t *in, *out;
    uint64_t v;
    sync_chan_recv_t recv;
    sync_chan_send_t send;
} echo_t;

static coro_poll_t echo_poll(future_t *self, future_cx_t *cx) {
    echo_t *f = (echo_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_chan_recv_init(&f->recv, f->in, &f->v);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut)) break; /* closed: done */
        sync_chan_send_init(&f->send, f->out, &f->v);
        AWAIT_TRY(cx, &f->send);
    }
    ASYNC_END();
}

typedef struct {
    future_t fut;
    sync_chan_t to, from;
    uint64_t buf_to[1], buf_from[1];
    uint64_t i, n, v, sum, t0;
    double ns;
    echo_t echo;
    exec_task_t echo_task;
    exec_join_t join;
    sync_chan_send_t send;
    sync_chan_recv_t recv;
} ping_t;

static coro_poll_t ping_poll(future_t *self, future_cx_t *cx) {
    ping_t *f = (ping_t *)self;
    ASYNC_BEGIN(f);
    sync_chan_init(&f->to, f->buf_to, 1, sizeof(uint64_t));
    sync_chan_init(&f->from, f->buf_from, 1, sizeof(uint64_t));
    future_init(&f->echo.fut, echo_poll, 0);
    f->echo.in = &f->to;
    f->echo.out = &f->from;
    exec_task_init(&f->echo_task);
    exec_spawn(&f->echo_task, exec_of(cx), &f->echo.fut);
    f->t0 = now_ns();
    for (f->i = 0; f->i < f->n; f->i++) {
        f->v = f->i;
        sync_chan_send_init(&f->send, &f->to, &f->v);
        AWAIT_TRY(cx, &f->send);
        sync_chan_recv_init(&f->recv, &f->from, &f->v);
        AWAIT_TRY(cx, &f->recv);
        f->sum += f->v;
    }
    f->ns = (double)(now_ns() - f->t0) / (double)f->n;
    sync_chan_tx_drop(&f->to);
    exec_join_init(&f->join, &f->echo_task);
    AWAIT(cx, &f->join);
    ASYNC_END();
}

static double chan_pingpong(exec_t *ex, uint64_t n) {
    static ping_t p;
    memset(&p, 0, sizeof p);
    future_init(&p.fut, ping_poll, 0);
    p.n = n;
    if (exec_block_on(ex, &p.fut) != 0 || p.sum != n * (n - 1) / 2) {
        fprintf(stderr, "chan_pingpong: wrong result\n");
        exit(1);
    }
    return p.ns;
}

/* ---- mutex_uncontended -------------------------------------------------- */

typedef struct {
    future_t fut;
    sync_mutex_t m;
    uint64_t i, n, count, t0;
    double ns;
    sync_mutex_lock_t lock;
} locker_t;

static coro_poll_t locker_poll(future_t *self, future_cx_t *cx) {
    locker_t *f = (locker_t *)self;
    ASYNC_BEGIN(f);
    sync_mutex_init(&f->m);
    f->t0 = now_ns();
    for (f->i = 0; f->i < f->n; f->i++) {
        sync_mutex_lock_init(&f->lock, &f->m);
        AWAIT(cx, &f->lock);
        f->count++; /* the critical section */
        sync_mutex_unlock(&f->lock);
    }
    f->ns = (double)(now_ns() - f->t0) / (double)f->n;
    ASYNC_END();
}

static double mutex_uncontended(exec_t *ex, uint64_t n) {
    static locker_t l;
    memset(&l, 0, sizeof l);
    future_init(&l.fut, locker_poll, 0);
    l.n = n;
    if (exec_block_on(ex, &l.fut) != 0 || l.count != n) {
        fprintf(stderr, "mutex_uncontended: wrong result\n");
        exit(1);
    }
    return l.ns;
}

int main(int argc, char **argv) {
    int quick = 0, runs = RUNS, r;
    uint64_t n_ping, n_lock;
    double v[RUNS];
    exec_t ex;
    for (r = 1; r < argc; r++) {
        if (strcmp(argv[r], "--quick") == 0) quick = 1, runs = 1;
        else if (strcmp(argv[r], "--runs") == 0 && r + 1 < argc) runs = atoi(argv[++r]);
        else runs = 0;
    }
    if (runs < 1 || runs > RUNS) {
        fprintf(stderr, "usage: %s [--quick] [--runs 1..%d]\n", argv[0], RUNS);
        return 2;
    }
    n_ping = quick ? 1000 : 2000000, n_lock = quick ? 1000 : 20000000;
    if (exec_init(&ex) != 0) return perror("exec_init"), 1;
    if (quick) printf("# quick mode: tiny sizes (numbers not meaningful)\n");
    for (r = 0; r < runs; r++) v[r] = chan_pingpong(&ex, n_ping);
    printf("chan_pingpong %.1f\n", median(v, runs));
    for (r = 0; r < runs; r++) v[r] = mutex_uncontended(&ex, n_lock);
    printf("mutex_uncontended %.2f\n", median(v, runs));
    exec_destroy(&ex);
    return 0;
}
