"""The local sandbox: an image under runc, in its own network namespace, watched by fanotify.

`sandbox.LocalSandbox.session(image)` is a context manager: entering it prepares the root filesystem,
mounts a size-limited scratch tmpfs and an overlay (the image's files stay read-only, the run
writes to its own upper dir), creates the network, starts the tracer and the workload, and
waits for readiness. Leaving it, however that happens (success, exception, timeout, a Dagster
run being terminated), stops the workload and removes everything the sandbox created; if the
process itself dies, a watchdog outside its process tree does that (see vexxy/sandbox/watchdog.py).
A sandbox removed from outside while it is observed fails the observation with the reason, never a
shortened profile.
"""
