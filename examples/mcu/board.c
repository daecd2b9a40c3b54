/* board.c - vector table, reset, SysTick and semihosting for the MPS2
 * boards (see board.h). Built with the examples, measured as part of the
 * size table's baseline (tests/mcu.sh): nothing here is counted against
 * the library. */
#include "board.h"

volatile uint32_t board_tick;

/* From mps2.ld. */
extern uint32_t board_data_start_[], board_data_end_[], board_data_load_[];
extern uint32_t board_bss_start_[], board_bss_end_[], board_stack_top_[];

int main(void);

/* ---- semihosting -------------------------------------------------------
 * A `bkpt 0xAB` with the operation in r0 and its argument in r1: the
 * debugger (qemu with -semihosting-config enable=on) performs it. */
enum {
    SYS_WRITEC = 0x03,
    SYS_WRITE0 = 0x04,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
    ADP_STOPPED_RUNTIME_ERROR = 0x20023
};

static uint32_t board_semihost_(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s) { board_semihost_(SYS_WRITE0, s); }

void board_putu(uint32_t v) {
    char d[11];
    int i = 10;
    d[i] = 0;
    do d[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
    board_puts(d + i);
}

#ifdef BOARD_REPORT_STACK
/* The stack's high-water mark: the reset handler paints the free RAM
 * between .bss and the stack; the deepest word no longer painted is as
 * far as the stack went. */
#define BOARD_PAINT_ 0xA5A5A5A5u
static uint32_t board_stack_used_(void) {
    const uint32_t *p = board_bss_end_;
    while (p < board_stack_top_ && *p == BOARD_PAINT_) p++;
    return (uint32_t)((const char *)board_stack_top_ - (const char *)p);
}
#endif

void board_exit(int code) {
    /* SYS_EXIT_EXTENDED carries the exit status (qemu: the process's).
     * Where it is missing, SYS_EXIT can only say success or failure. */
    uint32_t block[2];
#ifdef BOARD_REPORT_STACK
    board_puts("[stack ");
    board_putu(board_stack_used_());
    board_puts(" B]\n");
#endif
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    board_semihost_(SYS_EXIT_EXTENDED, block);
    board_semihost_(SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                                    : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) board_wfi();
}

/* ---- SysTick ------------------------------------------------------------ */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 1u
#define SYST_CSR_TICKINT 2u
#define SYST_CSR_CLKSOURCE 4u /* the core's clock */

void board_start(uint32_t tick0, uint32_t hz) {
    SYST_CSR = 0;
    board_tick = tick0;
    SYST_RVR = BOARD_CPU_HZ / hz - 1; /* 24 bits: hz >= 2 at 25 MHz */
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

__attribute__((weak)) void board_tick_hook(void) {}

static void board_systick_(void) {
    board_tick++;
    board_tick_hook();
}

/* ---- faults and reset --------------------------------------------------- */
/* A fault: a bad access, an undefined instruction, or a misuse report
 * (coro.h's default without NDEBUG here is __builtin_trap, an undefined
 * instruction). The run ends with status 70. */
static void board_fault_(void) {
    board_puts("board: fault (a bad access, or a misuse report: checked builds trap)\n");
    board_exit(70);
}

void board_reset_(void) {
    uint32_t *p, *s;
    for (p = board_data_start_, s = board_data_load_; p < board_data_end_;) *p++ = *s++;
    for (p = board_bss_start_; p < board_bss_end_;) *p++ = 0;
#ifdef BOARD_REPORT_STACK
    {
        uint32_t *sp;
        __asm volatile("mov %0, sp" : "=r"(sp));
        for (p = board_bss_end_; p < sp - 16;) *p++ = BOARD_PAINT_;
    }
#endif
    board_exit(main());
}

/* The vector table (ARMv6-M/v7-M): the initial stack pointer, then the
 * handlers of exceptions 1 (reset) to 15 (SysTick). Thumb addresses: the
 * linker sets their low bit. */
typedef void (*board_vector_t)(void);
__attribute__((section(".vectors"), used)) static const board_vector_t board_vectors_[16] = {
    (board_vector_t)(uintptr_t)board_stack_top_,
    board_reset_,
    board_fault_, /* NMI */
    board_fault_, /* HardFault */
    board_fault_, /* MemManage (v7-M) */
    board_fault_, /* BusFault (v7-M) */
    board_fault_, /* UsageFault (v7-M) */
    0, 0, 0, 0,
    board_fault_, /* SVCall */
    board_fault_, /* DebugMonitor (v7-M) */
    0,
    board_fault_, /* PendSV */
    board_systick_,
};
