/* AWAIT of a pointer to a struct that is not a future (no `fut` member).
 * expect-gcc: has no member named 'fut'
 * expect-clang: no member named 'fut' in 'struct plain'
 */
#include "../../exec.h"

struct plain {
    int x;
};

typedef struct {
    future_t fut;
    struct plain *p;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, f->p); /* error */
    ASYNC_END();
}

int main(void) {
    frame_t f;
    future_init(&f.fut, frame_poll, 0);
    return 0;
}
