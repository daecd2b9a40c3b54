/* A struct whose `fut` member is not a future_t: an int.
 * expect-gcc: '_Generic' selector of type 'int *' is not compatible with any association
 * expect-clang: controlling expression type 'int *' not compatible with any generic association type
 */
#include "../../exec.h"

struct impostor {
    int fut;
};

typedef struct {
    future_t fut;
    struct impostor q;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    AWAIT(cx, &f->q); /* error */
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    exec_task_t t;
    struct impostor q = {0};
    frame_t f;
    future_init(&f.fut, frame_poll, 0);
    if (exec_init(&ex)) return 1;
    exec_spawn(&t, &ex, &q); /* error */
    exec_destroy(&ex);
    return 0;
}
