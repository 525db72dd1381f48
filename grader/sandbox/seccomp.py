"""The local sandbox's seccomp filter: no System V IPC and no POSIX message queues.

Shared memory segments, semaphores, message queues (System V) and POSIX message queues live
in the sandbox's IPC namespace, not in a process or a file: they outlive the kernel that made
them, the reap of the slot's processes and the wipe of its scratch folder, and the namespace
lasts as long as the slot's fork server, across kernels and submissions. A kernel that held
hidden tests could leave them there for a later kernel whose outputs the student sees (see
hidden.py). Student code has no use for them (`multiprocessing` needs /dev/shm, which the
sandbox does not give either), so their system calls fail with EPERM. A system call made
through another ABI (32-bit `int 0x80`, x32) fails the same way: their numbers differ.

The program is classic BPF for bubblewrap's `--seccomp FD`, written out here because
libseccomp's Python binding is not a dependency of the project.
"""

from __future__ import annotations

import errno
import platform
import struct

# <linux/audit.h>
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# msgget msgsnd msgrcv msgctl, semget semop semctl semtimedop, shmget shmat shmctl shmdt,
# mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr (<asm/unistd.h>)
IPC_SYSCALLS = {
    "x86_64": (68, 69, 70, 71, 64, 65, 66, 220, 29, 30, 31, 67, 240, 241, 242, 243, 244, 245),
    "aarch64": (186, 189, 188, 187, 190, 193, 191, 192, 194, 196, 195, 197)
    + (180, 181, 182, 183, 184, 185),
}
X32_SYSCALL_BIT = 0x40000000

# <linux/filter.h>, <linux/seccomp.h>
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_EPERM = 0x00050000 | errno.EPERM
NR_OFFSET, ARCH_OFFSET = 0, 4  # struct seccomp_data


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def ipc_denied_program(machine: str | None = None) -> bytes | None:
    """The filter for this machine's architecture, or None where it has no table here."""
    machine = machine or platform.machine()
    if machine not in AUDIT_ARCH:
        return None
    denied = IPC_SYSCALLS[machine]
    n = len(denied)
    # Layout: 0 load arch; 1 other arch -> EPERM; 2 load nr; 3 x32 -> EPERM;
    # 4..4+n-1 each denied nr -> EPERM; 4+n allow; 5+n EPERM.
    deny_at = 5 + n
    prog = [
        _insn(LD_W_ABS, 0, 0, ARCH_OFFSET),
        _insn(JEQ_K, 0, deny_at - 2, AUDIT_ARCH[machine]),
        _insn(LD_W_ABS, 0, 0, NR_OFFSET),
        _insn(JGE_K, deny_at - 4, 0, X32_SYSCALL_BIT),
    ]
    for i, nr in enumerate(denied):
        at = 4 + i
        prog.append(_insn(JEQ_K, deny_at - at - 1, 0, nr))
    prog.append(_insn(RET_K, 0, 0, RET_ALLOW))
    prog.append(_insn(RET_K, 0, 0, RET_EPERM))
    return b"".join(prog)
