"""What each analysis step's Kubernetes Job asks for (`dagster-k8s/config` op tags).

Read only by `k8s_job_executor` (production: one Job per step); other executors ignore them.
The sandbox step only talks to the Kubernetes API and Kubescape while the workload runs in its
own pod, so it needs almost nothing; Syft holds a whole image's file catalogue in memory.
"""

from __future__ import annotations

from typing import Any

K8S_CONFIG_TAG = "dagster-k8s/config"


def _resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        K8S_CONFIG_TAG: {
            "container_config": {
                "resources": {
                    "requests": {"cpu": cpu_request, "memory": memory_request},
                    "limits": {"cpu": cpu_limit, "memory": memory_limit},
                }
            }
        }
    }


SANDBOX_STEP = _resources("100m", "256Mi", "500m", "512Mi")
SYFT_STEP = _resources("500m", "2Gi", "2", "4Gi")
# The import analysis streams the layers once, keeping the tree and at most 64 MiB of candidate files.
IMPORTS_STEP = _resources("250m", "512Mi", "1", "1Gi")
