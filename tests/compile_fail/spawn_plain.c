/* exec_spawn of a plain struct.
 * expect-gcc: has no member named 'fut'
 * expect-clang: no member named 'fut' in 'struct plain'
 */
#include "../../exec.h"

struct plain {
    int x;
};

int main(void) {
    exec_t ex;
    exec_task_t t;
    struct plain plain = {0};
    if (exec_init(&ex)) return 1;
    exec_spawn(&t, &ex, &plain); /* error */
    exec_destroy(&ex);
    return 0;
}
