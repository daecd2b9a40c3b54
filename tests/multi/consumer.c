#include "task.h"

typedef struct {
    future_t fut;
    sync_chan_t *ch;
    int *sum, v;
    sync_chan_recv_t recv;
} consumer_t;

static coro_poll_t consumer_poll(future_t *self, future_cx_t *cx) {
    consumer_t *f = (consumer_t *)self;
    ASYNC_BEGIN(f);
    for (;;) {
        sync_chan_recv_init(&f->recv, f->ch, &f->v);
        AWAIT(cx, &f->recv);
        if (future_err(&f->recv.fut) == FUTURE_EPIPE) break;
        *f->sum += f->v;
    }
    ASYNC_END();
}

future_t *consumer_new(sync_chan_t *ch, int *sum) {
    static consumer_t f;
    future_init(&f.fut, consumer_poll, 0);
    f.ch = ch;
    f.sum = sum;
    return &f.fut;
}
