// Every header, included and used from C++. JOIN / SELECT use C compound
// literals and are C-only; everything else works from C++.
#include "../exec.h"
#include "../blocking.h"
#include "../coro.h"
#include "../future.h"
#include "../timer.h"
#if defined(__has_include)
#if __has_include("../sync.h")
#include "../sync.h"
#endif
#if __has_include("../io.h")
#include "../io.h"
#endif
#if __has_include("../fs.h")
#include "../fs.h"
#endif
#endif

struct nap_t {
    future_t fut;
    timer_sleep_t sleep;
    int done;
};

static coro_poll_t nap_poll(future_t *self, future_cx_t *cx) {
    nap_t *f = (nap_t *)self;
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->sleep, TIMER_MS);
    AWAIT_TRY(cx, &f->sleep);
    f->done = 1;
    ASYNC_END();
}

int main() {
    exec_t ex;
    nap_t n;
    if (exec_init(&ex) != 0) return 1;
    exec_clock_pause(&ex);
    future_init(&n.fut, nap_poll, 0);
    n.done = 0;
    int rc = exec_block_on(&ex, &n.fut);
    exec_destroy(&ex);
    return rc == 0 && n.done ? 0 : 1;
}
