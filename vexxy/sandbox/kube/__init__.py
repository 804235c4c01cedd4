"""The Kubernetes sandbox backend: the image as a locked-down pod, its profile from Kubescape."""
