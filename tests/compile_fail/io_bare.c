/* io.h wants a backend with file descriptors: under the bare backend it
 * stops at once, with one error that says so.
 * expect-gcc: io.h needs a backend with file descriptors (EXEC_BACKEND_EPOLL or EXEC_BACKEND_POLL)
 * expect-clang: io.h needs a backend with file descriptors (EXEC_BACKEND_EPOLL or EXEC_BACKEND_POLL)
 * flags: -DEXEC_BACKEND_BARE
 */
#include "../../io.h" /* error */

int main(void) { return 0; }
