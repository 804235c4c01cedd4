"""Runtime evidence: which components' files a workload really loaded."""
