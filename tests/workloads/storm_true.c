/* storm_true: the cheapest program there is to exec. No libc and no dynamic
 * loader: its entry point only calls exit(0). fork_storm execs it thousands of
 * times a second, where /bin/true (dynamically linked) costs ~1.7 ms each. */
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov $60, %eax\n\txor %edi, %edi\n\tsyscall\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tmov x8, #93\n\tmov x0, #0\n\tsvc #0\n");
#else
#error "storm_true: add this architecture's exit syscall"
#endif
