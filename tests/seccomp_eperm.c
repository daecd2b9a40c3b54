/* seccomp_eperm PROGRAM [ARGS...]: run PROGRAM under a seccomp filter that
 * answers epoll_pwait2 with EPERM, as some container sandboxes do for
 * system calls their profile does not know. The executor must fall back to
 * epoll_wait (or report an error), never spin: tests/run.sh runs the
 * executor's tests under it. The filter is checked before the exec: the
 * wrapper itself calls epoll_pwait2 and expects EPERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
#ifdef SYS_epoll_pwait2
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_epoll_pwait2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("seccomp_eperm: installing the filter");
        return 2;
    }
    if (syscall(SYS_epoll_pwait2, -1, 0, 0, 0, 0, 0) != -1 || errno != EPERM) {
        fprintf(stderr, "seccomp_eperm: the filter does not answer EPERM\n");
        return 2;
    }
    execv(argv[1], argv + 1);
    perror("seccomp_eperm: exec");
    return 2;
#else
    (void)argc, (void)argv;
    fprintf(stderr, "seccomp_eperm: no epoll_pwait2 on this system\n");
    return 2;
#endif
}
