/*
 * nbc_runner: the long-lived process behind the nbcampus C kernel.
 *
 * Each notebook cell arrives as one translation unit.  libtcc compiles it in memory
 * (or links an object file that gcc produced) and the code stays loaded for the
 * life of this process, so later cells can use what earlier cells defined:
 *
 *   - functions are bound through trampolines: a stable address that jumps to the
 *     newest definition, so re-running a cell that redefines a function changes it
 *     for every caller, including functions compiled before;
 *   - global variables are bound by address (the kernel rewrites a same-type
 *     redefinition into a re-initialisation of the existing storage).
 *
 * exit(), abort() and failed assert() are intercepted so they end the cell, not the
 * process; crashes are reported (signal, function) before the process dies and the
 * kernel starts a fresh runner.
 *
 * Protocol: frames of [1 byte type][4 byte little-endian length][payload], commands
 * read from --cmd-fd, messages written to --msg-fd.  Every message frame is at most PIPE_BUF
 * bytes and written with one write(), so frames from several threads or from a
 * signal handler never interleave.  Payload fields are separated by NUL bytes.
 *
 * Commands:  'H' header    key, text (preprocessed system headers a source may follow)
 *            'C' compile   id, mode (src|obj), options, libraries, excluded names,
 *                          declared function names, header key (or empty), text
 *            'R' run       id, main kind (i|v|- or n: load only), argv...
 *            'X' discard   id
 *            'I' input     '1' + data, or '0' for end of input
 * Messages:  'r' ready, 'o'/'e' stdout/stderr bytes, 'c' compile result,
 *            'i' input wanted, 'd' run finished, 'k' crash report, 'f' flushed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <libtcc.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

static int CMD_FD = 3, MSG_FD = 4; /* --cmd-fd= / --msg-fd= */
#define FRAME_MAX 4096 /* == PIPE_BUF on Linux: one write() is atomic */
#define PAYLOAD_MAX (FRAME_MAX - 5)

extern char **environ;

/* ------------------------------------------------------------------ framing */

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            _exit(70); /* the kernel is gone */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Async-signal-safe: a stack buffer and one write() per frame. */
static void send_frame(char type, const char *data, size_t len) {
    do {
        char buf[FRAME_MAX];
        size_t n = len > PAYLOAD_MAX ? PAYLOAD_MAX : len;
        buf[0] = type;
        buf[1] = (char)(n & 0xff);
        buf[2] = (char)((n >> 8) & 0xff);
        buf[3] = 0;
        buf[4] = 0;
        if (n) memcpy(buf + 5, data, n);
        write_all(MSG_FD, buf, n + 5);
        data += n;
        len -= n;
    } while (len > 0);
}

/* Messages larger than one frame (compile results) go as 'M' continuation frames
 * followed by the final frame of the real type. */
static void send_message(char type, const char *data, size_t len) {
    while (len > PAYLOAD_MAX) {
        send_frame('M', data, PAYLOAD_MAX);
        data += PAYLOAD_MAX;
        len -= PAYLOAD_MAX;
    }
    send_frame(type, data, len);
}

static int read_exact(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one command; returns its type and a malloc'd, NUL-terminated payload. */
static int read_command(char **payload, size_t *len) {
    unsigned char head[5];
    if (read_exact(CMD_FD, (char *)head, 5) < 0) return -1;
    size_t n = (size_t)head[1] | ((size_t)head[2] << 8) | ((size_t)head[3] << 16) |
               ((size_t)head[4] << 24);
    char *buf = malloc(n + 1);
    if (!buf) _exit(71);
    if (read_exact(CMD_FD, buf, n) < 0) {
        free(buf);
        return -1;
    }
    buf[n] = 0;
    *payload = buf;
    *len = n;
    return head[0];
}

/* Splits a payload into at most `max` NUL-separated fields (the last keeps the rest). */
static int split_fields(char *payload, size_t len, char **fields, int max) {
    int count = 0;
    char *p = payload, *end = payload + len;
    while (count < max) {
        fields[count++] = p;
        if (count == max) break;
        char *z = memchr(p, 0, (size_t)(end - p));
        if (!z) break;
        p = z + 1;
        if (p > end) break;
    }
    return count;
}

/* A growable byte buffer for building messages. */
typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) _exit(71);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}
static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_field(Buf *b, const char *s) { buf_add(b, s, strlen(s) + 1); }

/* ------------------------------------------------------ stdout, stderr, stdin */

static ssize_t out_write(void *cookie, const char *buf, size_t size) {
    send_frame((char)(intptr_t)cookie, buf, size);
    return (ssize_t)size;
}

static char *input_rest; /* bytes of the last input reply that did not fit */
static size_t input_rest_len;

/* Called by stdio when a program reads stdin and the buffer is empty: ask the
 * kernel, which turns this into a Jupyter input request. */
static ssize_t in_read(void *cookie, char *buf, size_t size) {
    (void)cookie;
    if (input_rest_len == 0) {
        fflush(stdout);
        fflush(stderr);
        send_frame('i', "", 0);
        char *payload;
        size_t len;
        int type = read_command(&payload, &len);
        if (type != 'I') _exit(72);
        if (len == 0 || payload[0] != '1') {
            free(payload);
            return 0; /* end of input */
        }
        free(input_rest);
        input_rest = payload;
        memmove(input_rest, input_rest + 1, len - 1);
        input_rest_len = len - 1;
        if (input_rest_len == 0) {
            free(input_rest);
            input_rest = NULL;
            return 0;
        }
    }
    size_t n = input_rest_len < size ? input_rest_len : size;
    memcpy(buf, input_rest, n);
    memmove(input_rest, input_rest + n, input_rest_len - n);
    input_rest_len -= n;
    return (ssize_t)n;
}

static void setup_streams(void) {
    cookie_io_functions_t out = {.write = out_write};
    cookie_io_functions_t in = {.read = in_read};
    FILE *o = fopencookie((void *)(intptr_t)'o', "w", out);
    FILE *e = fopencookie((void *)(intptr_t)'e', "w", out);
    FILE *i = fopencookie(NULL, "r", in);
    if (!o || !e || !i) _exit(73);
    /* Line-buffered like a terminal; stderr unbuffered like a terminal. */
    setvbuf(o, NULL, _IOLBF, 1 << 14);
    setvbuf(e, NULL, _IONBF, 0);
    stdout = o;
    stderr = e;
    stdin = i;
}

/* ------------------------------------------------------------ symbol tables */

typedef struct {
    char *name;
    unsigned char *tramp; /* 16 bytes: code, then the target address */
} Func;
typedef struct {
    char *name;
    void *addr;
} Var;
typedef struct {
    uintptr_t addr;
    int unit;
    char *name;
} FnSym;
typedef struct {
    uintptr_t start, text_end;
    int unit;
} Region;

static Func *funcs;
static int nfuncs, capfuncs;
static Var *vars;
static int nvars, capvars;
static FnSym *fnsyms;
static int nfnsyms, capfnsyms;
static Region *regions;
static int nregions, capregions;

#define GROW(arr, n, cap)                                     \
    do {                                                      \
        if ((n) >= (cap)) {                                   \
            (cap) = (cap) ? (cap) * 2 : 64;                   \
            (arr) = realloc((arr), sizeof(*(arr)) * (cap));   \
            if (!(arr)) _exit(71);                            \
        }                                                     \
    } while (0)

static unsigned char *tramp_page;
static size_t tramp_used, tramp_cap;

/* A trampoline is 48 bytes: at 0 a jump through the target stored at 8; at 16 code
 * that calls nbc_undefined(trampoline) through the address stored at 40. A function
 * that is declared but not defined yet points its target at that second half, so a
 * call reports the function's name instead of failing to link. */
#define TRAMP_SIZE 48
static void nbc_undefined(unsigned char *trampoline);

static unsigned char *new_trampoline(void *target) {
    if (!tramp_page || tramp_used + TRAMP_SIZE > tramp_cap) {
        tramp_cap = 1 << 16;
        tramp_page = mmap(NULL, tramp_cap, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (tramp_page == MAP_FAILED) _exit(74);
        tramp_used = 0;
    }
    unsigned char *t = tramp_page + tramp_used;
    tramp_used += TRAMP_SIZE;
#if defined(__x86_64__)
    static const unsigned char code[] = {
        0xff, 0x25, 0x02, 0x00, 0x00, 0x00, /* 0: jmp *8(%rip-relative)           */
        0x90, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, /* 6: nop nop; 8: target              */
        0x48, 0x8d, 0x3d, 0xe9, 0xff, 0xff, 0xff, /* 16: lea -23(%rip), %rdi = t  */
        0xff, 0x25, 0x0b, 0x00, 0x00, 0x00,       /* 23: jmp *40(%rip-relative)   */
    };
#elif defined(__aarch64__)
    static const unsigned char code[] = {
        0x50, 0x00, 0x00, 0x58, /* 0: ldr x16, #8 (the target)               */
        0x00, 0x02, 0x1f, 0xd6, /* 4: br x16                                  */
        0, 0, 0, 0, 0, 0, 0, 0, /* 8: target                                  */
        0x80, 0xff, 0xff, 0x10, /* 16: adr x0, #-16 (= t)                     */
        0xb0, 0x00, 0x00, 0x58, /* 20: ldr x16, #20 (the word at 40)          */
        0x00, 0x02, 0x1f, 0xd6, /* 24: br x16                                 */
    };
#else
#error "nbc_runner supports x86_64 and aarch64"
#endif
    memset(t, 0, TRAMP_SIZE);
    memcpy(t, code, sizeof code);
    void *handler = (void *)nbc_undefined;
    memcpy(t + 8, &target, sizeof target);
    memcpy(t + 40, &handler, sizeof handler);
    __builtin___clear_cache((char *)t, (char *)t + TRAMP_SIZE);
    return t;
}

/* A trampoline for a declared function no cell has defined yet. */
static unsigned char *undefined_trampoline(void) {
    unsigned char *t = new_trampoline(NULL);
    void *second_half = t + 16;
    memcpy(t + 8, &second_half, sizeof second_half);
    return t;
}

static Func *find_func(const char *name) {
    for (int i = 0; i < nfuncs; i++)
        if (strcmp(funcs[i].name, name) == 0) return &funcs[i];
    return NULL;
}
static Var *find_var(const char *name) {
    for (int i = 0; i < nvars; i++)
        if (strcmp(vars[i].name, name) == 0) return &vars[i];
    return NULL;
}
static void drop_func(const char *name) {
    for (int i = 0; i < nfuncs; i++)
        if (strcmp(funcs[i].name, name) == 0) {
            free(funcs[i].name);
            funcs[i] = funcs[--nfuncs];
            return;
        }
}
static void drop_var(const char *name) {
    for (int i = 0; i < nvars; i++)
        if (strcmp(vars[i].name, name) == 0) {
            free(vars[i].name);
            vars[i] = vars[--nvars];
            return;
        }
}

/* ------------------------------------------------------------- cell control */

enum { END_NONE, END_EXIT, END_ABORT, END_ASSERT, END_FELL_OFF, END_UNDEFINED };

static sigjmp_buf run_jump;
static volatile sig_atomic_t in_cell;
static pid_t runner_pid;
static pthread_t main_thread;
static int end_kind, end_status;
static Buf end_detail;

static void flush_streams(void) {
    fflush(stdout);
    fflush(stderr);
}

static _Noreturn void end_cell(int kind, int status) {
    flush_streams();
    if (getpid() != runner_pid) _exit(status); /* a child the program forked */
    if (!in_cell || !pthread_equal(pthread_self(), main_thread)) _exit(status);
    end_kind = kind;
    end_status = status;
    siglongjmp(run_jump, 1);
}

static _Noreturn void nbc_exit(int status) { end_cell(END_EXIT, status); }

static _Noreturn void nbc_abort(void) {
    end_detail.len = 0;
    end_cell(END_ABORT, 134);
}

static _Noreturn void nbc_assert_fail(const char *expr, const char *file, unsigned int line,
                                      const char *func) {
    char num[32];
    snprintf(num, sizeof num, "%u", line);
    end_detail.len = 0;
    buf_field(&end_detail, expr ? expr : "");
    buf_field(&end_detail, file ? file : "");
    buf_field(&end_detail, num);
    buf_field(&end_detail, func ? func : "");
    end_cell(END_ASSERT, 134);
}

/* The kernel inserts a call to this at the closing brace of every function that
 * returns a value: reaching it means the function ended without `return`. */
static _Noreturn void nbc_fell_off(const char *func) {
    end_detail.len = 0;
    buf_field(&end_detail, func ? func : "");
    end_cell(END_FELL_OFF, 1);
}

static void nbc_undefined(unsigned char *trampoline) {
    const char *name = "a function";
    for (int i = 0; i < nfuncs; i++)
        if (funcs[i].tramp == trampoline) name = funcs[i].name;
    end_detail.len = 0;
    buf_field(&end_detail, name);
    end_cell(END_UNDEFINED, 1);
}

static void *nbc_copy(void *dst, const void *src, unsigned long n) {
    return memmove(dst, src, n);
}

typedef struct {
    const char *name;
    void *addr;
} Builtin;

static const Builtin builtins[] = {
    {"exit", (void *)nbc_exit},
    {"_exit", (void *)nbc_exit},
    {"_Exit", (void *)nbc_exit},
    {"quick_exit", (void *)nbc_exit},
    {"abort", (void *)nbc_abort},
    {"__assert_fail", (void *)nbc_assert_fail},
    {"__nbc_fell_off", (void *)nbc_fell_off},
    {"__nbc_copy", (void *)nbc_copy},
};

/* ------------------------------------------------------------ crash reports */

static uintptr_t stack_top, stack_limit;
static char altstack[1 << 16];

static const FnSym *lookup_fn(uintptr_t pc) {
    int region = -1;
    for (int i = 0; i < nregions; i++)
        if (pc >= regions[i].start && pc < regions[i].text_end) {
            region = i;
            break;
        }
    if (region < 0) return NULL;
    const FnSym *best = NULL;
    for (int i = 0; i < nfnsyms; i++) {
        const FnSym *f = &fnsyms[i];
        if (f->unit != regions[region].unit) continue;
        if (f->addr <= pc && (!best || f->addr > best->addr)) best = f;
    }
    return best;
}

/* Crash reports are built without malloc: a fixed buffer and bounded copies. */
static char report[2048];
static size_t report_len;

static void report_field(const char *s) {
    size_t n = strlen(s);
    if (n > 255) n = 255;
    if (report_len + n + 1 > sizeof report) return;
    memcpy(report + report_len, s, n);
    report[report_len + n] = 0;
    report_len += n + 1;
}

static void report_num(uintptr_t v, int hex) {
    char tmp[32], out[32];
    int n = 0;
    if (v == 0) tmp[n++] = '0';
    while (v) {
        unsigned d = (unsigned)(v % (hex ? 16 : 10));
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= hex ? 16 : 10;
    }
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    report_field(out);
}

static void on_crash(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    uintptr_t pc = 0, sp = 0;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    sp = (uintptr_t)uc->uc_mcontext.sp;
#endif
    const FnSym *where = lookup_fn(pc);
    const FnSym *caller = NULL;
    int on_main_stack = sp <= stack_top && sp > stack_limit;
    if (!where && on_main_stack) {
        /* The fault is in a library function: find the nearest cell function among
         * the return addresses on the stack. */
        for (uintptr_t p = sp; p + sizeof(uintptr_t) <= stack_top && p < sp + 16384;
             p += sizeof(uintptr_t)) {
            caller = lookup_fn(*(uintptr_t *)p);
            if (caller) break;
        }
    }
    uintptr_t addr = (uintptr_t)si->si_addr;
    int overflow = (sig == SIGSEGV || sig == SIGBUS) && addr < stack_top &&
                   addr + (1 << 20) > stack_limit && addr < stack_limit + (1 << 16);
    report_len = 0;
    report_num((uintptr_t)sig, 0);
    report_num((uintptr_t)(unsigned)si->si_code, 0);
    report_num(addr, 1);
    report_num((uintptr_t)in_cell, 0);
    report_num((uintptr_t)overflow, 0);
    const FnSym *named = where ? where : caller;
    if (named) {
        report_num((uintptr_t)named->unit, 0);
        report_field(named->name);
    } else {
        report_field("");
        report_field("");
    }
    report_field(where ? "" : "library");
    send_frame('k', report, report_len);
    /* Best effort: what the program printed before the crash is still buffered. */
    flush_streams();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* On a time limit or an interrupt the kernel asks for the buffered output first. */
static void on_flush_request(int sig) {
    (void)sig;
    flush_streams();
    send_frame('f', "", 0);
}

static void setup_signals(void) {
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals; i++)
        sigaction(crash_signals[i], &sa, NULL);
    struct sigaction fl;
    memset(&fl, 0, sizeof fl);
    fl.sa_handler = on_flush_request;
    fl.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &fl, NULL);
}

/* ------------------------------------------------------------------ units */

typedef struct {
    int id;
    void *mem;
    size_t size;
    uintptr_t text_end;
    void (*run)(void);
    int (*main)(int, char **, char **);
    Buf fn_names, var_names, lens; /* NUL-separated lists */
    int nfn, nvar;
    void **fn_addrs, **var_addrs;
} Unit;

static Unit pending;
static int have_pending;

static void unit_free(Unit *u, int keep_code) {
    if (!keep_code && u->mem) munmap(u->mem, u->size);
    free(u->fn_names.data);
    free(u->var_names.data);
    free(u->lens.data);
    free(u->fn_addrs);
    free(u->var_addrs);
    memset(u, 0, sizeof *u);
}

static Buf diagnostics;

static void on_tcc_message(void *opaque, const char *msg) {
    (void)opaque;
    buf_str(&diagnostics, msg);
    buf_str(&diagnostics, "\n");
}

static int is_internal_name(const char *name) {
    static const char *fixed[] = {"_etext", "_edata", "_end", "_GLOBAL_OFFSET_TABLE_", "main",
                                  "__nbc_run", "_DYNAMIC"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(name, fixed[i]) == 0) return 1;
    return strchr(name, '@') != NULL || strncmp(name, "__preinit_array", 15) == 0 ||
           strncmp(name, "__init_array", 12) == 0 || strncmp(name, "__fini_array", 12) == 0 ||
           (strncmp(name, "__nbc_", 6) == 0 && strncmp(name, "__nbc_len_", 10) != 0);
}

typedef struct {
    Unit *unit;
    int pass; /* 0: find _etext, 1: collect */
} ListCtx;

static void on_symbol(void *opaque, const char *name, const void *val) {
    ListCtx *ctx = opaque;
    Unit *u = ctx->unit;
    uintptr_t a = (uintptr_t)val;
    if (ctx->pass == 0) {
        if (strcmp(name, "_etext") == 0) u->text_end = a;
        return;
    }
    if (a < (uintptr_t)u->mem || a >= (uintptr_t)u->mem + u->size) return; /* not ours */
    if (strncmp(name, "__nbc_len_", 10) == 0) {
        char num[32];
        snprintf(num, sizeof num, "%lu", *(unsigned long *)val);
        buf_str(&u->lens, name + 10);
        buf_str(&u->lens, "=");
        buf_field(&u->lens, num);
        return;
    }
    if (is_internal_name(name)) return;
    if (a < u->text_end) {
        buf_field(&u->fn_names, name);
        u->fn_addrs = realloc(u->fn_addrs, sizeof(void *) * (size_t)(u->nfn + 1));
        u->fn_addrs[u->nfn++] = (void *)val;
    } else {
        buf_field(&u->var_names, name);
        u->var_addrs = realloc(u->var_addrs, sizeof(void *) * (size_t)(u->nvar + 1));
        u->var_addrs[u->nvar++] = (void *)val;
    }
}

static int name_in_list(const char *name, const char *list) {
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - p) == n && strncmp(p, name, n) == 0) return 1;
        p = e;
    }
    return 0;
}

/* Adds every name of a "'NAME' defined twice" message to the excluded list. */
static int learn_twice(Buf *exclude) {
    int learned = 0;
    const char *p = diagnostics.data ? diagnostics.data : "";
    while ((p = strstr(p, "' defined twice")) != NULL) {
        const char *e = p;
        const char *s = p - 1;
        while (s > diagnostics.data && *s != '\'') s--;
        if (*s == '\'' && e > s + 1) {
            char name[256];
            size_t n = (size_t)(e - s - 1);
            if (n < sizeof name) {
                memcpy(name, s + 1, n);
                name[n] = 0;
                if (!name_in_list(name, exclude->data ? exclude->data : "")) {
                    buf_str(exclude, " ");
                    buf_str(exclude, name);
                    learned = 1;
                }
            }
        }
        p += 15;
    }
    return learned;
}

static int compile_once(Unit *u, const char *mode, const char *options, const char *libs,
                        const char *exclude, const char *text) {
    TCCState *s = tcc_new();
    if (!s) return -1;
    tcc_set_error_func(s, NULL, on_tcc_message);
    if (*options) tcc_set_options(s, options);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        if (!name_in_list(builtins[i].name, exclude))
            tcc_add_symbol(s, builtins[i].name, builtins[i].addr);
    for (int i = 0; i < nfuncs; i++)
        if (!name_in_list(funcs[i].name, exclude))
            tcc_add_symbol(s, funcs[i].name, funcs[i].tramp);
    for (int i = 0; i < nvars; i++)
        if (!name_in_list(vars[i].name, exclude)) tcc_add_symbol(s, vars[i].name, vars[i].addr);
    int rc = 0;
    const char *p = libs;
    while (rc == 0 && *p) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if (e > p) {
            char lib[256];
            size_t n = (size_t)(e - p) < sizeof lib - 1 ? (size_t)(e - p) : sizeof lib - 1;
            memcpy(lib, p, n);
            lib[n] = 0;
            if (tcc_add_library(s, lib) < 0) {
                buf_str(&diagnostics, "error: library not found: -l");
                buf_str(&diagnostics, lib);
                buf_str(&diagnostics, "\n");
                rc = -1;
            }
        }
        p = e;
    }
    if (rc == 0)
        rc = strcmp(mode, "obj") == 0 ? tcc_add_file(s, text) : tcc_compile_string(s, text);
    int size = rc < 0 ? -1 : tcc_relocate(s, NULL);
    if (size < 0) {
        tcc_delete(s);
        return -1;
    }
    size_t alloc = (size_t)(size ? size : 1);
    void *mem = mmap(NULL, alloc, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        buf_str(&diagnostics, "error: out of memory while loading the cell\n");
        tcc_delete(s);
        return -1;
    }
    if (tcc_relocate(s, mem) < 0) {
        munmap(mem, alloc);
        tcc_delete(s);
        return -1;
    }
    u->mem = mem;
    u->size = alloc;
    u->run = (void (*)(void))tcc_get_symbol(s, "__nbc_run");
    u->main = (int (*)(int, char **, char **))tcc_get_symbol(s, "main");
    if (u->run && ((uintptr_t)u->run < (uintptr_t)mem || (uintptr_t)u->run >= (uintptr_t)mem + alloc))
        u->run = NULL;
    if (u->main &&
        ((uintptr_t)u->main < (uintptr_t)mem || (uintptr_t)u->main >= (uintptr_t)mem + alloc))
        u->main = NULL;
    ListCtx ctx = {u, 0};
    tcc_list_symbols(s, &ctx, on_symbol);
    if (!u->text_end) u->text_end = (uintptr_t)mem + alloc;
    ctx.pass = 1;
    tcc_list_symbols(s, &ctx, on_symbol);
    tcc_delete(s);
    return 0;
}

/* Appends a NUL-separated list as one space-separated field. */
static void join_list(Buf *out, const Buf *list) {
    Buf joined = {0};
    buf_str(&joined, "");
    for (size_t i = 0; i < list->len; i += strlen(list->data + i) + 1) {
        if (joined.len) buf_str(&joined, " ");
        buf_str(&joined, list->data + i);
    }
    buf_field(out, joined.data);
    free(joined.data);
}

/* Header blocks by key: the kernel sends each once, cells then name it. */
typedef struct Block {
    char *key, *text;
    size_t len;
    struct Block *next;
} Block;
static Block *blocks;

static void do_header(char *payload, size_t len) {
    char *f[2];
    if (split_fields(payload, len, f, 2) < 2) return;
    Block *b = malloc(sizeof *b);
    if (!b) _exit(71);
    b->key = strdup(f[0]);
    b->len = len - (size_t)(f[1] - payload);
    b->text = malloc(b->len + 1);
    if (!b->key || !b->text) _exit(71);
    memcpy(b->text, f[1], b->len + 1);
    b->next = blocks;
    blocks = b;
}

static const Block *find_block(const char *key) {
    for (const Block *b = blocks; b; b = b->next)
        if (strcmp(b->key, key) == 0) return b;
    return NULL;
}

/* Functions the unit declares that no loaded unit defines (and no library has) get a
 * trampoline now: calling one ends the cell with "not defined yet" instead of the
 * unit failing to link, and a later definition makes it work. */
static void declare_functions(const char *names, const char *exclude) {
    const char *p = names;
    while (*p) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if (e > p && (size_t)(e - p) < 256) {
            char name[256];
            memcpy(name, p, (size_t)(e - p));
            name[e - p] = 0;
            if (!find_func(name) && !find_var(name) && !name_in_list(name, exclude) &&
                !dlsym(RTLD_DEFAULT, name)) {
                GROW(funcs, nfuncs, capfuncs);
                funcs[nfuncs].name = strdup(name);
                funcs[nfuncs].tramp = undefined_trampoline();
                nfuncs++;
            }
        }
        p = e;
    }
}

static void do_compile(char *payload, size_t len) {
    char *f[8];
    if (split_fields(payload, len, f, 8) < 8) {
        send_message('c', "error\0bad compile command\0\0\0", 29);
        return;
    }
    if (have_pending) {
        unit_free(&pending, 0);
        have_pending = 0;
    }
    declare_functions(f[5], f[4]);
    Buf source = {0};
    const char *text = f[7];
    if (f[6][0]) {
        const Block *b = find_block(f[6]);
        if (!b) {
            send_message('c', "error\0error: unknown header block\0\0\0", 36);
            return;
        }
        buf_add(&source, b->text, b->len);
        buf_str(&source, "\n");
        buf_str(&source, f[7]);
        text = source.data;
    }
    Buf exclude = {0};
    buf_str(&exclude, f[4]);
    int rc = -1;
    for (int attempt = 0; attempt < 4; attempt++) {
        diagnostics.len = 0;
        if (diagnostics.data) diagnostics.data[0] = 0;
        memset(&pending, 0, sizeof pending);
        pending.id = atoi(f[0]);
        rc = compile_once(&pending, f[1], f[2], f[3], exclude.data, text);
        if (rc == 0 || !learn_twice(&exclude)) break;
        unit_free(&pending, 0);
    }
    free(exclude.data);
    free(source.data);
    Buf out = {0};
    buf_field(&out, rc == 0 ? "ok" : "error");
    buf_field(&out, diagnostics.data ? diagnostics.data : "");
    if (rc == 0) {
        have_pending = 1;
        join_list(&out, &pending.fn_names);
        join_list(&out, &pending.var_names);
        join_list(&out, &pending.lens);
    } else {
        unit_free(&pending, 0);
        buf_field(&out, "");
        buf_field(&out, "");
        buf_field(&out, "");
    }
    send_message('c', out.data, out.len);
    free(out.data);
}

static void commit(Unit *u) {
    size_t off = 0;
    for (int i = 0; i < u->nfn; i++) {
        const char *name = u->fn_names.data + off;
        off += strlen(name) + 1;
        Func *fn = find_func(name);
        if (fn) {
            memcpy(fn->tramp + 8, &u->fn_addrs[i], sizeof(void *));
        } else {
            GROW(funcs, nfuncs, capfuncs);
            funcs[nfuncs].name = strdup(name);
            funcs[nfuncs].tramp = new_trampoline(u->fn_addrs[i]);
            nfuncs++;
        }
        drop_var(name);
        GROW(fnsyms, nfnsyms, capfnsyms);
        fnsyms[nfnsyms].addr = (uintptr_t)u->fn_addrs[i];
        fnsyms[nfnsyms].unit = u->id;
        fnsyms[nfnsyms].name = strdup(name);
        nfnsyms++;
    }
    if (u->run) {
        GROW(fnsyms, nfnsyms, capfnsyms);
        fnsyms[nfnsyms++] = (FnSym){(uintptr_t)u->run, u->id, "__nbc_run"};
    }
    if (u->main) {
        GROW(fnsyms, nfnsyms, capfnsyms);
        fnsyms[nfnsyms++] = (FnSym){(uintptr_t)u->main, u->id, "main"};
    }
    off = 0;
    for (int i = 0; i < u->nvar; i++) {
        const char *name = u->var_names.data + off;
        off += strlen(name) + 1;
        Var *v = find_var(name);
        if (v) {
            v->addr = u->var_addrs[i];
        } else {
            GROW(vars, nvars, capvars);
            vars[nvars].name = strdup(name);
            vars[nvars].addr = u->var_addrs[i];
            nvars++;
        }
        drop_func(name);
    }
    GROW(regions, nregions, capregions);
    regions[nregions++] = (Region){(uintptr_t)u->mem, u->text_end, u->id};
}

static void send_done(void) {
    Buf out = {0};
    const char *kind = "ok";
    switch (end_kind) {
    case END_EXIT: kind = "exit"; break;
    case END_ABORT: kind = "abort"; break;
    case END_ASSERT: kind = "assert"; break;
    case END_FELL_OFF: kind = "fell_off"; break;
    case END_UNDEFINED: kind = "undefined"; break;
    }
    buf_field(&out, kind);
    char num[32];
    snprintf(num, sizeof num, "%d", end_status);
    buf_field(&out, num);
    if (end_detail.len) buf_add(&out, end_detail.data, end_detail.len);
    send_message('d', out.data, out.len);
    free(out.data);
}

static void do_run(char *payload, size_t len) {
    char *f[64];
    int n = split_fields(payload, len, f, 64);
    end_kind = END_NONE;
    end_status = 0;
    end_detail.len = 0;
    if (n < 2 || !have_pending || pending.id != atoi(f[0])) {
        end_kind = END_EXIT;
        end_status = 255;
        send_done();
        return;
    }
    Unit u = pending;
    have_pending = 0;
    commit(&u);
    char main_kind = f[1][0];
    if (main_kind == 'n') { /* replaying a cell after a restart: load, do not run */
        unit_free(&u, 1);
        send_done();
        return;
    }
    char *argv[66];
    int argc = 0;
    argv[argc++] = "cell";
    for (int i = 2; i < n && argc < 64; i++) argv[argc++] = f[i];
    argv[argc] = NULL;
    clearerr(stdin); /* an end of input in an earlier cell must not stick */
    if (sigsetjmp(run_jump, 1) == 0) {
        in_cell = 1;
        if (u.run) u.run();
        if (u.main && main_kind != '-') {
            int rc = u.main(argc, argv, environ);
            if (main_kind == 'i' && rc != 0) {
                end_kind = END_EXIT;
                end_status = rc;
            }
        }
        in_cell = 0;
        flush_streams();
    } else {
        in_cell = 0;
    }
    if (getpid() != runner_pid) _exit(0); /* a forked child returned from the cell */
    if (end_kind == END_EXIT && end_status == 0) end_kind = END_NONE;
    unit_free(&u, 1);
    send_done();
}

/* ------------------------------------------------------------------- main */

static void apply_limits(int argc, char **argv) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    for (int i = 1; i < argc; i++) {
        unsigned long v;
        int fd;
        if (sscanf(argv[i], "--cmd-fd=%d", &fd) == 1) {
            CMD_FD = fd;
        } else if (sscanf(argv[i], "--msg-fd=%d", &fd) == 1) {
            MSG_FD = fd;
        } else if (sscanf(argv[i], "--memory-mb=%lu", &v) == 1 && v > 0) {
            struct rlimit r = {v << 20, v << 20};
            setrlimit(RLIMIT_AS, &r);
        } else if (sscanf(argv[i], "--max-processes=%lu", &v) == 1 && v > 0) {
            struct rlimit r = {v, v};
            setrlimit(RLIMIT_NPROC, &r);
        }
    }
}

int main(int argc, char **argv) {
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the kernel */
    if (getppid() != parent) _exit(0);
    runner_pid = getpid();
    main_thread = pthread_self();
    int here;
    stack_top = (uintptr_t)&here + 4096;
    struct rlimit st;
    if (getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur != RLIM_INFINITY)
        stack_limit = stack_top - st.rlim_cur;
    else
        stack_limit = stack_top - (8u << 20);
    apply_limits(argc, argv);
    setup_streams();
    setup_signals();
#if defined(__x86_64__)
    send_frame('r', "x86_64", 6);
#else
    send_frame('r', "aarch64", 7);
#endif
    for (;;) {
        char *payload;
        size_t len;
        int type = read_command(&payload, &len);
        if (type < 0) break;
        switch (type) {
        case 'H': do_header(payload, len); break;
        case 'C': do_compile(payload, len); break;
        case 'R': do_run(payload, len); break;
        case 'X':
            if (have_pending) unit_free(&pending, 0);
            have_pending = 0;
            break;
        case 'Q': free(payload); flush_streams(); _exit(0);
        case 'I': break; /* a late input reply: nothing is reading */
        default: break;
        }
        free(payload);
    }
    flush_streams();
    _exit(0);
}
