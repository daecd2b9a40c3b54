/* JOIN with a pointer to a plain struct among its children.
 * expect-gcc: has no member named 'fut'
 * expect-clang: no member named 'fut' in 'struct plain'
 */
#include "../../exec.h"

struct plain {
    int x;
};

typedef struct {
    future_t fut;
    future_ready_t a;
    struct plain p;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    future_ready_init(&f->a, 0);
    JOIN(cx, &f->a, &f->p); /* error */
    ASYNC_END();
}

int main(void) {
    frame_t f;
    future_init(&f.fut, frame_poll, 0);
    return 0;
}
