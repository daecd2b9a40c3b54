/* board.h - the smallest board support the MCU examples need, for
 * qemu-system-arm's MPS2 boards (mps2-an385: Cortex-M3, also runs a
 * Cortex-M0+ build, ARMv6-M being a subset of ARMv7-M; mps2-an386:
 * Cortex-M4). See board.c and mps2.ld.
 *
 *   - A tick: SysTick interrupts at `hz`, each one adds 1 to board_tick (a
 *     wrapping 32-bit count) and then calls board_tick_hook(), a weak
 *     function a program may define (it runs in the interrupt handler).
 *     board_start(tick0, hz) sets the first value, so a test can start a
 *     few ticks before the 32-bit wrap.
 *   - Output through semihosting (the debugger, here qemu, prints it):
 *     board_puts, board_putu. No printf: it would dominate the size table.
 *   - board_exit(code): ends the emulator with that exit status. main's
 *     return value goes there.
 *   - Interrupt masking and WFI, as one-instruction inline functions, for
 *     the idle rule: mask, re-check, WFI, unmask (a masked interrupt still
 *     ends WFI, and runs as soon as it is unmasked).
 *
 * Run:
 *   qemu-system-arm -M mps2-an385 -nographic \
 *     -semihosting-config enable=on,target=native -kernel prog.elf
 * (tests/mcu.sh adds -icount shift=0,align=off,sleep=off: time then
 * follows the instructions run, so the ticks a program prints are exact.)
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* The core's clock on the MPS2 boards (FPGA images AN385/AN386): SysTick
 * counts it. */
#define BOARD_CPU_HZ 25000000u

/* Ticks since board_start's tick0, wrapping at 2^32. Written only by the
 * SysTick handler; a 32-bit aligned load reads it whole on every Cortex-M. */
extern volatile uint32_t board_tick;

/* Set board_tick to tick0 and start SysTick at hz interrupts a second. */
void board_start(uint32_t tick0, uint32_t hz);

/* Called from the SysTick handler after board_tick moved (weak: define
 * your own). */
void board_tick_hook(void);

void board_puts(const char *s);
void board_putu(uint32_t v); /* in decimal */
void board_exit(int code) __attribute__((noreturn));

static inline void board_irq_off(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void board_irq_on(void) { __asm volatile("cpsie i" ::: "memory"); }
/* Sleep until an interrupt is pending (also when masked: then it runs at
 * board_irq_on). */
static inline void board_wfi(void) { __asm volatile("wfi" ::: "memory"); }

#endif /* BOARD_H */
