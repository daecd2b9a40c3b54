/* A struct that points at a future instead of starting with one: its
 * `fut` is a future_t *, so &x->fut is a future_t **.
 * expect-gcc: '_Generic' selector of type 'future_t **'
 * expect-clang: controlling expression type 'future_t **'
 */
#include "../../exec.h"

typedef struct {
    future_t *fut;
} handle_t;

int main(void) {
    exec_t ex;
    future_ready_t r;
    handle_t h;
    future_ready_init(&r, 0);
    h.fut = &r.fut;
    if (exec_init(&ex)) return 1;
    exec_block_on(&ex, &h); /* error */
    exec_destroy(&ex);
    return 0;
}
