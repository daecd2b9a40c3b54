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
ASYNC_FN(producer, sync_chan_t *tx; int next, sent, waits; sync_chan_send_t send;) {
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

/* The stage's closures: |x| x * x and |x| x % 10 == 1 || x % 10 == 9 */
static void square(const void *in, void *out, void *arg) {
    (void)arg;
    *(int *)out = *(const int *)in * *(const int *)in;
}

static int ends_in_1_or_9(const void *item, void *arg) {
    int d = *(const int *)item % 10;
    (void)arg;
    return d == 1 || d == 9;
}

/* The channel hands each value still queued at the receiver's drop here. */
static void release(void *item, void *released) {
    printf("released unread value %d\n", *(int *)item);
    ++*(int *)released;
}

/* async fn main(): the stream take(filter(map(ReceiverStream))) */
ASYNC_FN(app, int buf[CAP]; int slot, squared, n, released; const int *item; sync_chan_t ch;
         producer_t prod; exec_task_t prod_task; exec_join_t prod_join; sync_chan_stream_t rx;
         sync_map_t sq; sync_filter_t keep; sync_take_t first;) {
    ASYNC_BEGIN(f);
    sync_chan_init(&f->ch, f->buf, CAP, sizeof(int));
    sync_chan_on_drop(&f->ch, release, &f->released);
    f->prod = ASYNC_NEW(producer, .tx = &f->ch);
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
    printf("released %d unread values\n", f->released);
    ASYNC_END();
}

EXEC_MAIN(app)
