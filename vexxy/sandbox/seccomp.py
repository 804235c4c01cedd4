"""The workload's seccomp profile: an allow-list at least as strict as Docker's default.

Built from the facts of moby's default profile (`profiles/seccomp/default.json`): everything not
listed fails with EPERM; `socket`, `personality` and `clone` are allowed only with certain
arguments; `clone3` fails with ENOSYS (its flags live in memory seccomp cannot read, so libc falls
back to `clone`, whose flags the filter checks); groups Docker allows only with a capability are
resolved here against the capabilities the sandbox actually grants. Stricter than Docker where a
workload under observation has no business: io_uring, ptrace and cross-process memory access,
file handles.
"""

from __future__ import annotations

import platform

EPERM, ENOSYS = 1, 38

# Every namespace flag `clone` can carry (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
# NEWNET); CLONE_NEWTIME (0x80) shares its bit with the exit signal and exists only for clone3 and
# unshare, both refused.
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and
# 0xffffffff (query the current persona).
PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]

AF_VSOCK = 40

_FILES = """
    access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3
    faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchown fchown32
    fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fremovexattr fsetxattr fstat fstat64
    fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futimesat getcwd getdents getdents64
    getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch ioctl lchown lchown32
    lgetxattr link linkat listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
    mkdir mkdirat mknod mknodat newfstatat open openat openat2 pread64 preadv preadv2 pwrite64
    pwritev pwritev2 read readahead readlink readlinkat readv removexattr rename renameat renameat2
    rmdir sendfile sendfile64 setxattr splice stat stat64 statfs statfs64 statx symlink symlinkat
    sync sync_file_range syncfs tee truncate truncate64 umask unlink unlinkat utime utimensat
    utimensat_time64 utimes vmsplice write writev fanotify_mark
    io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
"""
_MEMORY = """
    brk madvise membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2
    mprotect mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect
    remap_file_pages
"""
_PROCESSES = """
    capget capset execve execveat exit exit_group fork vfork getcpu getegid getegid32 geteuid
    geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid getppid getpriority
    getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
    get_thread_area gettid getuid getuid32 ioprio_get ioprio_set kill pidfd_open pidfd_send_signal
    prctl prlimit64 process_mrelease rseq sched_getaffinity sched_getattr sched_getparam
    sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
    sched_yield seccomp setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups
    setgroups32 setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
    setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid set_thread_area
    set_tid_address setuid setuid32 tgkill tkill ugetrlimit uname wait4 waitid waitpid
    landlock_add_rule landlock_create_ruleset landlock_restrict_self
"""
_SIGNALS_TIME_WAITING = """
    alarm clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
    clock_gettime64 clock_nanosleep clock_nanosleep_time64 adjtimex epoll_create epoll_create1
    epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
    futex futex_time64 futex_waitv getitimer getrandom gettimeofday nanosleep _newselect pause
    pipe pipe2 poll ppoll ppoll_time64 pselect6 pselect6_time64 restart_syscall rt_sigaction
    rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_tgsigqueueinfo select setitimer sigaltstack signalfd signalfd4
    sigprocmask sigreturn sysinfo time timer_create timer_delete timer_getoverrun timer_gettime
    timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
    timerfd_gettime64 timerfd_settime timerfd_settime64 times
"""
_IPC_NETWORK = """
    accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair
    ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
    mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop
    semtimedop_time64 shmat shmctl shmdt shmget
"""

# Allowed whatever the arguments (Docker's unconditional list minus io_uring, which we refuse).
ALLOWED = sorted(set(" ".join([_FILES, _MEMORY, _PROCESSES, _SIGNALS_TIME_WAITING, _IPC_NETWORK]).split()))

# Allowed only on these machines (platform.machine() spelling).
ARCH_ALLOWED = {
    "x86_64": ["arch_prctl", "modify_ldt"],
    "aarch64": ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
}

# Docker allows each group only to a container holding the capability.
CAPABILITY_GROUPS = {
    "CAP_SYS_ADMIN": [
        "bpf",
        "clone",
        "clone3",
        "fanotify_init",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "lookup_dcookie",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "perf_event_open",
        "quotactl",
        "quotactl_fd",
        "setdomainname",
        "sethostname",
        "setns",
        "syslog",
        "umount",
        "umount2",
        "unshare",
    ],  # fmt: skip
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_CHROOT": ["chroot"],
    "CAP_SYS_MODULE": ["delete_module", "init_module", "finit_module"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_TIME": ["settimeofday", "stime", "clock_settime", "clock_settime64"],
    "CAP_SYS_TTY_CONFIG": ["vhangup"],
    "CAP_SYS_NICE": ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
    "CAP_SYSLOG": ["syslog"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
}

# Refused even where Docker would allow them: never needed by a service under observation, and
# each one a way around the observation or into the kernel.
NEVER = {
    "io_uring_setup", "io_uring_enter", "io_uring_register",  # file I/O the tracer cannot attribute
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "name_to_handle_at", "open_by_handle_at",
    "userfaultfd", "add_key", "keyctl", "request_key",
}  # fmt: skip


def _architectures(machine: str) -> list[str]:
    if machine in ("x86_64", "amd64"):
        return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    if machine in ("aarch64", "arm64"):
        return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    raise ValueError(f"no seccomp profile for machine {machine!r}")


def allowed_syscalls(capabilities: list[str], machine: str | None = None) -> list[str]:
    """Names allowed whatever their arguments, for a sandbox granting `capabilities`."""
    machine = machine or platform.machine()
    names = set(ALLOWED) | set(ARCH_ALLOWED.get("x86_64" if machine == "amd64" else machine, []))
    for capability, group in CAPABILITY_GROUPS.items():
        if capability in capabilities:
            names |= set(group)
    return sorted(names - NEVER)


def profile(capabilities: list[str], machine: str | None = None) -> dict:
    """The OCI `linux.seccomp` section for a sandbox granting `capabilities`."""
    machine = machine or platform.machine()
    allowed = allowed_syscalls(capabilities, machine)
    rules: list[dict] = [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]
    rules.append(
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]}
    )
    rules += [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]}
        for value in PERSONALITIES
    ]
    if "clone" not in allowed:
        # Allowed when (flags & every namespace flag) == 0; s390 is not a machine we run on.
        rules.append(
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
            }
        )
    if "clone3" not in allowed:
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": _architectures(machine),
        "syscalls": rules,
    }
