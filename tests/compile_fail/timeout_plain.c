/* timer_timeout_init around a plain struct.
 * expect-gcc: has no member named 'fut'
 * expect-clang: no member named 'fut' in 'struct plain'
 */
#include "../../exec.h"

struct plain {
    int x;
};

int main(void) {
    timer_timeout_t t;
    struct plain plain = {0};
    timer_timeout_init(&t, &plain, 5); /* error */
    return 0;
}
