/* pipeline: a producer task generates numbers into a bounded channel (4
 * slots); a stage reads the channel as a stream, squares each number, keeps
 * those that end in 1 or 9, and the consumer prints the first 6. The
 * producer is much faster than the consumer wants to be, so it keeps
 * finding the channel full and has to wait: backpressure, not a growing
 * queue. When the consumer has enough it drops the receiver: the producer's
 * next send fails with -EPIPE and the values still queued are released. */
#include "../exec.h"
#include "../sync.h"

enum { CAP = 4, WANTED = 6 };

/* async fn producer(tx): send 1, 2, 3, ... until the channel is closed */
typedef struct {
    future_t fut;
    sync_chan_t *tx;
    int next, sent, waits;
    sync_chan_send_t send;
} producer_t;

static coro_poll_t producer_poll(future_t *self, future_cx_t *cx) {
    producer_t *f = (producer_t *)self;
    ASYNC_BEGIN(f);
    for (f->next = 1;; f->next++) {
        sync_chan_send_init(&f->send, f->tx, &f->next);
        AWAIT(cx, &f->send);
        f->waits += f->send.waited; /* it found the channel full */
        if (future_err(&f->send) == -EPIPE) break; /* receiver gone */
        f->sent++;
    }
    printf("producer: sent %d, then the channel closed (%d was handed back)\n", f->sent,
           f->next);
    ASYNC_END();
}

static void square(const void *in, void *out, void *arg) {
    (void)arg;
    *(int *)out = *(const int *)in * *(const int *)in;
}

static int ends_in_1_or_9(const void *item, void *arg) {
    int d = *(const int *)item % 10;
    (void)arg;
    return d == 1 || d == 9;
}

static int released;
static void release(void *item, void *arg) {
    (void)arg;
    printf("released unread value %d\n", *(int *)item);
    released++;
}

/* async fn main(): the stream take(filter(map(ReceiverStream))) */
typedef struct {
    future_t fut;
    int buf[CAP], slot, squared, n;
    sync_chan_t ch;
    producer_t prod;
    exec_task_t prod_task;
    exec_join_t prod_join;
    sync_chan_stream_t rx;
    sync_map_t sq;
    sync_filter_t keep;
    sync_take_t first;
    const int *item;
} main_t;

static coro_poll_t main_poll(future_t *self, future_cx_t *cx) {
    main_t *f = (main_t *)self;
    ASYNC_BEGIN(f);
    sync_chan_init(&f->ch, f->buf, CAP, sizeof(int));
    sync_chan_on_drop(&f->ch, release, 0);
    future_init(&f->prod, producer_poll, 0);
    f->prod.tx = &f->ch;
    f->prod.sent = f->prod.waits = 0;
    SPAWN(cx, &f->prod_task, &f->prod);

    sync_chan_stream_init(&f->rx, &f->ch, &f->slot);
    sync_map_init(&f->sq, &f->rx.st, square, 0, &f->squared);
    sync_filter_init(&f->keep, &f->sq.st, ends_in_1_or_9, 0);
    sync_take_init(&f->first, &f->keep.st, WANTED);
    for (;;) {
        AWAIT_NEXT(cx, &f->first, f->item);
        if (!f->item) break;
        printf("item %d: %d\n", ++f->n, *f->item);
        YIELD_NOW(cx); /* a slow consumer: let the producer run ahead */
    }
    sync_chan_rx_drop(&f->ch); /* done: the receiver goes away */
    exec_join_init(&f->prod_join, &f->prod_task);
    AWAIT(cx, &f->prod_join);
    printf("producer waited for room %d times (%zu waits seen by the channel)\n",
           f->prod.waits, f->ch.send_waits);
    printf("released %d unread values\n", released);
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    main_t m;
    int err = exec_init(&ex);
    if (err) return fprintf(stderr, "exec_init: %s\n", strerror(-err)), 1;
    memset(&m, 0, sizeof m);
    future_init(&m, main_poll, 0);
    err = exec_block_on(&ex, &m);
    exec_destroy(&ex);
    return err ? 1 : 0;
}
