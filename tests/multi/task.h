/* tests/multi: one program of three files built with WEFT_EXTERN_INLINE
 * (one copy of the library, in main.c, which defines WEFT_IMPLEMENTATION),
 * and again without it (each file its own static copy). */
#ifndef MULTI_TASK_H
#define MULTI_TASK_H
#include "../../exec.h"
#include "../../sync.h"
future_t *producer_new(sync_chan_t *ch);
future_t *consumer_new(sync_chan_t *ch, int *sum);
#endif
