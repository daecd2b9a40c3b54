/* baseline.c - an empty program on the same board, for tests/mcu.sh's
 * size table: every example's size is its linked image minus this one's.
 * It calls every board function the examples call, so what remains is
 * the example's own code and data, the library's, and any libc / libgcc
 * helper only the example needs. (memcpy, memset and the 32-bit division
 * helper are in the baseline: the reset handler and board_putu use
 * them.) */
#include "board.h"

int main(void) {
    board_start(0, 1000);
    board_puts("");
    board_putu(0);
    board_irq_off();
    board_irq_on();
    return 0;
}
