/* libFuzzer harness: mini_redis' RESP parser, through the connection path.
 *
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *         -fno-sanitize-recover=all tests/fuzz/fuzz_resp.c -o build/test/fuzz_resp
 *   build/test/fuzz_resp -dict=tests/fuzz/resp.dict tests/fuzz/corpus/fuzz_resp
 *                                                      (tests/fuzz_redis.sh runs it)
 *
 * Input: byte 0 seeds the chunk splits, the rest is what a client sends:
 * any bytes, RESP multibulk or inline, pipelined, malformed. It is fed to
 * the real code (conn_room / conn_input / conn_run, see fuzz_common.h) in
 * chunks, then again in one piece. Oracles:
 *   - the replies are well-formed RESP2, every error "-ERR ...";
 *   - one reply per complete command: a reference framer written here from
 *     the protocol's rules (not from mini_redis' parser) counts the complete
 *     non-empty commands up to the first protocol error (which gets one
 *     error reply and the end of the connection) or QUIT (one "+OK", then
 *     the end); the count of top-level replies must equal it, and the
 *     connection must be closed exactly when the framer says so;
 *   - the chunked and the one-piece replies are the same bytes.
 * Sanitizers: ASan, UBSan with no recovery (a report is a crash).
 *
 * Mutation check (the fuzzer is not vacuous): each bug put back into a
 * scratch copy of the fixed mini_redis.c, this harness run as
 * tests/fuzz_redis.sh runs it (from the committed corpus, 30 s at most),
 * libFuzzer seeds 1, 2, 3, on the shared 2-core machine:
 *   bug 20 (add_err copying CR/LF unfiltered): found every time, after
 *     101, 36, 62 inputs ("malformed reply": the CR/LF split the error);
 *   bug 21 (is_cmd reading the name past its NUL): found every time, after
 *     70, 5146, 535 inputs (ASan global-buffer-overflow);
 *   bug 22 (memcpy from NULL on SET k "" / GET k): not found in 30 s
 *     (it needs "$0" and a matching GET at once); fuzz_dispatch finds it.
 * The committed seeds alone pass on every mutant (none is a crash input).
 */
#include "fuzz_common.h"

/* The protocol's limits, as mini_redis documents them. */
#define REF_MAX_ARGS 4096
#define REF_MAX_BULK (8 << 20)
#define REF_MAX_INLINE (64 << 10)
#define REF_LINE_WINDOW 32 /* a "*N" / "$N" line must end within 32 bytes */

/* Where "\r\n" ends a header line starting at b (within the window), in
 * *eol. 1 found, 0 need more bytes, -1 malformed. */
static int ref_line(const uint8_t *b, size_t len, size_t *eol) {
    size_t i, lim = len < REF_LINE_WINDOW ? len : REF_LINE_WINDOW;
    for (i = 0; i < lim && b[i] != '\r'; i++) {}
    if (i == lim || i + 1 >= len) return len >= REF_LINE_WINDOW ? -1 : 0;
    if (b[i + 1] != '\n') return -1;
    *eol = i;
    return 1;
}

/* One command at b[0..len): 1 complete (*used bytes, *argc arguments,
 * *quit if it is QUIT), 0 incomplete, -1 protocol error. */
static int ref_frame(const uint8_t *b, size_t len, size_t *used, long *argc, int *quit) {
    size_t eol, q;
    long long count, blen;
    long i;
    int r;
    *quit = 0;
    if (b[0] != '*') { /* inline: a line of words split by spaces and tabs */
        const uint8_t *nl = (const uint8_t *)memchr(b, '\n', len);
        size_t end, w0 = 0, w0len = 0;
        int inword = 0;
        if (!nl) return len > REF_MAX_INLINE ? -1 : 0;
        end = (size_t)(nl - b);
        if (end && b[end - 1] == '\r') end--;
        *argc = 0;
        for (q = 0; q < end; q++) {
            int sp = b[q] == ' ' || b[q] == '\t';
            if (!sp && !inword) {
                if (*argc == 0) w0 = q;
                ++*argc;
            }
            if (!sp && *argc == 1) w0len = q - w0 + 1;
            inword = !sp;
        }
        if (*argc > REF_MAX_ARGS) return -1;
        *quit = *argc > 0 && w0len == 4 && strncasecmp((const char *)b + w0, "quit", 4) == 0;
        *used = (size_t)(nl - b) + 1;
        return 1;
    }
    if ((r = ref_line(b, len, &eol)) <= 0) return r;
    if (ref_ll((const char *)b + 1, eol - 1, &count) || count > REF_MAX_ARGS) return -1;
    q = eol + 2;
    *argc = count > 0 ? (long)count : 0;
    for (i = 0; i < *argc; i++) {
        if (q == len) return 0;
        if (b[q] != '$') return -1;
        if ((r = ref_line(b + q, len - q, &eol)) <= 0) return r;
        if (ref_ll((const char *)b + q + 1, eol - 1, &blen) || blen < 0 || blen > REF_MAX_BULK)
            return -1;
        q += eol + 2;
        if (len - q < (size_t)blen + 2) return 0;
        if (b[q + blen] != '\r' || b[q + blen + 1] != '\n') return -1;
        if (i == 0) *quit = blen == 4 && strncasecmp((const char *)b + q, "quit", 4) == 0;
        q += (size_t)blen + 2;
    }
    *used = q;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_buf_t chunked = {0}, whole = {0};
    size_t pos = 0, want = 0, got, starts[1];
    int closed = 0, last_err = 0, quit_seen = 0, c1, c2;
    uint32_t seed;
    if (size < 1) return 0;
    fz_setup();
    seed = 0x01000193u * (data[0] + 1u);
    data++, size--;
    /* what the reference framer expects */
    while (pos < size) {
        size_t used = 0;
        long argc = 0;
        int quit = 0, r = ref_frame(data + pos, size - pos, &used, &argc, &quit);
        if (r == 0) break;
        if (r < 0) {
            want++, closed = 1, last_err = 1;
            break;
        }
        pos += used;
        if (argc > 0) want++;
        if (argc > 0 && quit) {
            closed = 1, quit_seen = 1;
            break;
        }
    }
    c1 = feed(data, size, seed, &chunked);
    c2 = feed(data, size, 0, &whole);
    resp_check(&chunked, &got, starts, 0);
    if (got != want)
        FZ_FAIL("%zu replies for %zu complete commands%s", got, want,
                last_err ? " (the last a protocol error)" : "");
    if (c1 != closed) FZ_FAIL("connection %s, the framer says %s", c1 ? "closed" : "open",
                              closed ? "closed" : "open");
    if (last_err && !(chunked.n >= 2 && chunked.p[chunked.n - 1] == '\n' &&
                      memmem(chunked.p, chunked.n, "-ERR Protocol error: ", 21)))
        FZ_FAIL("protocol error without its reply");
    if (quit_seen && !(chunked.n >= 5 && memcmp(chunked.p + chunked.n - 5, "+OK\r\n", 5) == 0))
        FZ_FAIL("QUIT without +OK last");
    if (c2 != c1 || !fz_same(&chunked, &whole))
        FZ_FAIL("chunked replies (%zu bytes) differ from one-piece replies (%zu bytes)",
                chunked.n, whole.n);
    free(chunked.p);
    free(whole.p);
    return 0;
}
