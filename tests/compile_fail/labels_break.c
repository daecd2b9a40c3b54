/* Under CORO_USE_LABELS a bare `break` at the top level of an async body
 * (which the switch backend reports at run time) does not compile.
 * flags: -DCORO_USE_LABELS=1
 * expect-gcc: break statement not within loop or switch
 * expect-clang: 'break' statement not in loop or switch statement
 */
#include "../../exec.h"

typedef struct {
    future_t fut;
    int stop;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    YIELD_NOW(cx);
    if (f->stop) break; /* error */
    ASYNC_END();
}

int main(void) {
    frame_t f;
    future_init(&f.fut, frame_poll, 0);
    return 0;
}
