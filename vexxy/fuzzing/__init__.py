"""Drive a sandboxed workload over HTTP with a web scanner and normalize what it finds."""
