/* A tiny weft consumer, built by tests/packaging.sh against an installed weft
 * (pkg-config, CMake find_package, Meson) and from the source tree (CMake
 * add_subdirectory, FetchContent). A producer task sleeps 10 ms then sends
 * 1..3 through a channel; main sums what it receives and joins the producer.
 * Prints "weft consumer: sum 6" and exits 0.
 * -DWEFT_SINGLE_HEADER: the same through the single header <weft.h>. */
#ifdef WEFT_SINGLE_HEADER
#include <weft.h>
#else
#include <weft/exec.h>
#include <weft/sync.h>
#include <weft/io.h> /* not needed here: checks that it is found too */
#endif

typedef struct {
    future_t fut;
    sync_chan_t *ch;
    timer_sleep_t nap;
    sync_chan_send_t send;
    int i;
} producer_t;

static coro_poll_t producer_poll(future_t *self, future_cx_t *cx) {
    producer_t *f = (producer_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, 10 * TIMER_MS);
    AWAIT(cx, &f->nap);
    for (f->i = 1; f->i <= 3; f->i++) {
        sync_chan_send_init(&f->send, f->ch, &f->i);
        AWAIT(cx, &f->send);
    }
    sync_chan_close(f->ch);
    ASYNC_END();
}

typedef struct {
    future_t fut;
    sync_chan_t ch;
    int buf[2];
    producer_t prod;
    exec_task_t task;
    exec_join_t join;
    sync_chan_recv_t recv;
    int got, sum;
} main_t;

static coro_poll_t main_poll(future_t *self, future_cx_t *cx) {
    main_t *f = (main_t *)self;
    ASYNC_BEGIN(f);
    sync_chan_init(&f->ch, f->buf, 2, sizeof(int));
    future_init(&f->prod.fut, producer_poll, 0);
    f->prod.ch = &f->ch;
    exec_spawn(&f->task, exec_of(cx), &f->prod.fut);
    exec_join_init(&f->join, &f->task);
    for (;;) {
        sync_chan_recv_init(&f->recv, &f->ch, &f->got);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut) < 0) break; /* -EPIPE: closed, drained */
        f->sum += f->got;
    }
    AWAIT(cx, &f->join);
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    main_t m = {0};
    int err = exec_init(&ex);
    if (err) return fprintf(stderr, "exec_init: %s\n", strerror(-err)), 1;
    future_init(&m.fut, main_poll, 0);
    err = exec_block_on(&ex, &m.fut);
    exec_destroy(&ex);
    if (err) return fprintf(stderr, "block_on: %s\n", strerror(-err)), 1;
    printf("weft consumer: sum %d\n", m.sum);
    return m.sum == 6 ? 0 : 1;
}
