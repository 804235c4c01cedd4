/* Runs inside the sandbox: calls every syscall the seccomp profile must refuse (with arguments a
 * kernel would reject with another errno, or harmless ones), then the ordinary ones a service
 * needs, and prints one line per call: "<name> <errno>" (0 = it worked). Built static at test time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define BAD ((long)-1)

static void report(const char *name, long result) {
    printf("%s %d\n", name, result == -1 ? (errno ? errno : -1) : 0);
}

/* A raw syscall; a child created by a clone that should have been refused exits at once. */
static void call(const char *name, long number, long a, long b, long c, long d, long e) {
    errno = 0;
    long result = syscall(number, a, b, c, d, e, 0);
    if (result == 0 && number == SYS_clone) _exit(0);
    if (result > 0 && number == SYS_clone) waitpid((pid_t)result, NULL, 0);
    report(name, result);
}

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return 7;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getpid() != 1) { /* never on a host: only as a container's first process */
        printf("not in a sandbox\n");
        return 2;
    }

    /* clone with each namespace flag, and unshare with each */
    static const struct { const char *name; long flag; } ns[] = {
        {"NEWNS", CLONE_NEWNS}, {"NEWUTS", CLONE_NEWUTS}, {"NEWIPC", CLONE_NEWIPC}, {"NEWUSER", CLONE_NEWUSER},
        {"NEWPID", CLONE_NEWPID}, {"NEWNET", CLONE_NEWNET}, {"NEWCGROUP", CLONE_NEWCGROUP},
    };
    char label[64];
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        snprintf(label, sizeof label, "clone:%s", ns[i].name);
        call(label, SYS_clone, ns[i].flag | SIGCHLD, 0, 0, 0, 0);
        snprintf(label, sizeof label, "unshare:%s", ns[i].name);
        call(label, SYS_unshare, ns[i].flag, 0, 0, 0, 0);
    }
    call("unshare:NEWTIME", SYS_unshare, CLONE_NEWTIME, 0, 0, 0, 0);
    call("clone3", SYS_clone3, 0, 0, 0, 0, 0);
    call("setns", SYS_setns, BAD, 0, 0, 0, 0);

    /* io_uring, keyrings, bpf, perf, userfaultfd */
    char params[120] = {0};
    call("io_uring_setup", SYS_io_uring_setup, 1, (long)params, 0, 0, 0);
    call("io_uring_enter", SYS_io_uring_enter, BAD, 0, 0, 0, 0);
    call("io_uring_register", SYS_io_uring_register, BAD, 0, 0, 0, 0);
    call("add_key", SYS_add_key, (long)"user", (long)"vexxy", (long)"x", 1, -3 /* session keyring */);
    call("keyctl", SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0, 0, 0);
    call("request_key", SYS_request_key, (long)"user", (long)"vexxy", 0, 0, 0);
    call("bpf", SYS_bpf, 0, 0, 0, 0, 0);
    call("perf_event_open", SYS_perf_event_open, 0, 0, BAD, BAD, 0);
    call("userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0);

    /* personality: only the allowed values */
    call("personality:ADDR_NO_RANDOMIZE", SYS_personality, 0x0040000, 0, 0, 0, 0);
    call("personality:READ_IMPLIES_EXEC", SYS_personality, 0x0400000, 0, 0, 0, 0);
    call("personality:PER_BSD", SYS_personality, 0x0006, 0, 0, 0, 0);

    /* the mount family */
    call("mount", SYS_mount, (long)"none", (long)"/nonexistent-vexxy", (long)"tmpfs", 0, 0);
    call("umount2", SYS_umount2, (long)"/nonexistent-vexxy", 0, 0, 0, 0);
    call("pivot_root", SYS_pivot_root, (long)"/", (long)"/", 0, 0, 0);
    call("open_tree", SYS_open_tree, BAD, (long)"/", 0, 0, 0);
    call("move_mount", SYS_move_mount, BAD, (long)"", BAD, (long)"", 0);
    call("fsopen", SYS_fsopen, (long)"tmpfs", 0, 0, 0, 0);
    call("fsconfig", SYS_fsconfig, BAD, 0, 0, 0, 0);
    call("fsmount", SYS_fsmount, BAD, 0, 0, 0, 0);
    call("fspick", SYS_fspick, BAD, (long)"/", 0, 0, 0);
    call("mount_setattr", SYS_mount_setattr, BAD, (long)"/", 0, 0, 0);
    call("chroot", SYS_chroot, (long)"/", 0, 0, 0, 0);

    /* other processes, the kernel, the clock, the host */
    call("ptrace", SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 999999, 0, 0, 0);
    call("process_vm_readv", SYS_process_vm_readv, 999999, 0, 0, 0, 0);
    call("process_vm_writev", SYS_process_vm_writev, 999999, 0, 0, 0, 0);
    call("kcmp", SYS_kcmp, 999999, 999999, 0, 0, 0);
    call("init_module", SYS_init_module, 0, 0, (long)"", 0, 0);
    call("finit_module", SYS_finit_module, BAD, (long)"", 0, 0, 0);
    call("delete_module", SYS_delete_module, (long)"vexxy_none", 0, 0, 0, 0);
    call("kexec_file_load", SYS_kexec_file_load, BAD, BAD, 0, 0, 0);
    call("reboot", SYS_reboot, 0, 0, 0, 0, 0); /* wrong magic numbers: EINVAL were it to get through */
    call("swapoff", SYS_swapoff, (long)"/nonexistent", 0, 0, 0, 0);
    call("acct", SYS_acct, (long)"/nonexistent", 0, 0, 0, 0);
    call("sethostname", SYS_sethostname, (long)"x", 1, 0, 0, 0);
    call("setdomainname", SYS_setdomainname, (long)"x", 1, 0, 0, 0);
    call("syslog", SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0, 0, 0);
    call("settimeofday", SYS_settimeofday, 0, 0, 0, 0, 0);
    call("clock_settime", SYS_clock_settime, 99, 0, 0, 0, 0);
    call("fanotify_init", SYS_fanotify_init, 0, 0, 0, 0, 0);
    call("name_to_handle_at", SYS_name_to_handle_at, BAD, (long)"/", 0, 0, 0);
    call("open_by_handle_at", SYS_open_by_handle_at, BAD, 0, 0, 0, 0);
    call("quotactl", SYS_quotactl, 0, 0, 0, 0, 0);
    call("mbind", SYS_mbind, 0, 0, 0, 0, 0);
    call("set_mempolicy", SYS_set_mempolicy, 0, 0, 0, 0, 0);
    call("move_pages", SYS_move_pages, 999999, 0, 0, 0, 0);
    call("vhangup", SYS_vhangup, 0, 0, 0, 0, 0);
    call("socket:AF_VSOCK", SYS_socket, 40, SOCK_STREAM, 0, 0, 0);
#ifdef SYS_iopl
    call("iopl", SYS_iopl, 0, 0, 0, 0, 0);
    call("ioperm", SYS_ioperm, 0, 1, 0, 0, 0);
#endif

    /* what an ordinary service does: all of it must work */
    printf("--- ordinary\n");
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status = -1;
    report("fork", child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) ? 0 : -1);
    child = fork();
    if (child == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(1);
    }
    report("execve", waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : -1);
    errno = 0;
    long plain = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (plain == 0) _exit(0);
    report("clone:plain", plain > 0 && waitpid((pid_t)plain, NULL, 0) == plain ? 0 : -1);
    pthread_t thread;
    errno = pthread_create(&thread, NULL, thread_main, NULL);
    report("pthread_create", errno == 0 && pthread_join(thread, NULL) == 0 ? 0 : -1);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    report("socket:inet", tcp);
    int unix_socket = socket(AF_UNIX, SOCK_STREAM, 0);
    report("socket:unix", unix_socket);
    int epoll = epoll_create1(0);
    report("epoll_create1", epoll);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = tcp};
    report("epoll_ctl", epoll_ctl(epoll, EPOLL_CTL_ADD, tcp, &event));
    report("epoll_wait", epoll_wait(epoll, &event, 1, 0));
    report("personality:query", syscall(SYS_personality, 0xffffffffL));
    report("personality:PER_LINUX", syscall(SYS_personality, 0L));

    FILE *status_file = fopen("/proc/self/status", "r");
    char line[256];
    while (status_file && fgets(line, sizeof line, status_file))
        if (strncmp(line, "Seccomp", 7) == 0) fputs(line, stdout);
    printf("--- done\n");
    return 0;
}
