/*
 * LD_PRELOAD shim for Debian's user-mode-linux 6.1 on hosts whose XSAVE area is larger than UML expects
 * (AVX-512, AMX: e.g. Sapphire Rapids). UML saves and restores its processes' FPU state with
 * PTRACE_GETREGSET/SETREGSET(NT_X86_XSTATE) through a fixed 832-byte buffer; the host kernel truncates a short
 * GETREGSET but refuses a SETREGSET that is not exactly its full user XSAVE size (EFAULT), and the guest dies at
 * init with "ptrace set fp regs failed". Here a short SETREGSET is widened: the target's full state is read
 * first and UML's bytes are written over its start, so the parts UML knows come from UML and the rest stays as
 * the host has it. Every other ptrace request goes to libc unchanged. The guest is told not to use AVX-512
 * (GLIBC_TUNABLES in the UML runner), since UML does not keep those registers per guest thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* Larger than any x86 user XSAVE area so far (AMX with every component: ~11 KiB). */
#define FULL_MAX 65536

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

long ptrace(enum __ptrace_request request, ...)
{
	static ptrace_fn real;
	static __thread unsigned char full[FULL_MAX] __attribute__((aligned(64)));
	va_list ap;
	va_start(ap, request);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);

	if (request == PTRACE_SETREGSET && (unsigned long)addr == NT_X86_XSTATE && data) {
		struct iovec *iov = data;
		struct iovec whole = { full, sizeof full };
		if (syscall(SYS_ptrace, PTRACE_GETREGSET, pid, addr, &whole) == 0 && iov->iov_len < whole.iov_len) {
			memcpy(full, iov->iov_base, iov->iov_len);
			return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, addr, &whole);
		}
	}
	if (!real) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return real(request, pid, addr, data);
}
