#include "task.h"

typedef struct {
    future_t fut;
    sync_chan_t *ch;
    int i;
    timer_sleep_t nap;
    sync_chan_send_t send;
} producer_t;

static coro_poll_t producer_poll(future_t *self, future_cx_t *cx) {
    producer_t *f = (producer_t *)self;
    ASYNC_BEGIN(f);
    for (f->i = 1; f->i <= 10; f->i++) {
        timer_sleep_init(&f->nap, TIMER_MS);
        AWAIT(cx, &f->nap);
        sync_chan_send_init(&f->send, f->ch, &f->i);
        AWAIT(cx, &f->send);
    }
    sync_chan_close(f->ch);
    ASYNC_END();
}

future_t *producer_new(sync_chan_t *ch) {
    static producer_t f;
    future_init(&f.fut, producer_poll, 0);
    f.ch = ch;
    return &f.fut;
}
