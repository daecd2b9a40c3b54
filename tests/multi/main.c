#define WEFT_IMPLEMENTATION /* with WEFT_EXTERN_INLINE: the one copy is here */
#include "task.h"
#include <stdio.h>

int main(void) {
    static int buf[2];
    sync_chan_t ch;
    exec_t ex;
    exec_task_t t = {0};
    int sum = 0, rc;
    if (exec_init(&ex)) return 1;
    exec_clock_pause(&ex);
    sync_chan_init(&ch, buf, 2, sizeof(int));
    rc = exec_spawn(&t, &ex, producer_new(&ch));
    if (!rc) rc = exec_block_on(&ex, consumer_new(&ch, &sum));
    exec_destroy(&ex);
    printf("sum %d\n", sum);
    return rc || sum != 55;
}
