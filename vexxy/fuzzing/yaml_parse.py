"""Parse a YAML document read from stdin, in a process of its own under CPU and memory limits.

PyYAML's time grows with a document's nesting and its memory with the document's shape, and a
parse cannot be interrupted from the thread that runs it: the document is the image's word, so
it is parsed where the caller can kill it at its deadline. Before anything is built, the parser's
own events are checked: no anchors or aliases (no expansion bombs) and no collection nested
deeper than the limit, stopping at the first event that breaks either rule.

Usage: python -m vexxy.fuzzing.yaml_parse CPU_SECONDS MEMORY_BYTES MAX_NESTING; the outcome is
written to stdout as a pickled ("document", value) or ("refused", reason).
"""

from __future__ import annotations

import pickle
import resource
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: the same YAML, faster
OPENING = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
CLOSING = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class Refused(ValueError):
    pass


def parse(text: str, max_nesting: int):
    """The document's value, once its events show no anchors, no aliases and no nesting beyond `max_nesting`."""
    depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise Refused("YAML anchors and aliases are not accepted")
        if isinstance(event, OPENING):
            depth += 1
            if depth > max_nesting:
                raise Refused(f"nests deeper than {max_nesting} levels; not used")
        elif isinstance(event, CLOSING):
            depth -= 1
    return yaml.load(text, Loader=Loader)


def outcome(text: str, max_nesting: int) -> tuple[str, object]:
    try:
        return "document", parse(text, max_nesting)
    except Refused as error:
        return "refused", str(error)
    except RecursionError:
        return "refused", f"nests deeper than {max_nesting} levels; not used"
    except yaml.YAMLError as error:
        if "nesting depth" in str(error):  # libyaml's own limit, met while its scanner reads ahead
            return "refused", f"nests deeper than {max_nesting} levels; not used"
        return "refused", f"neither JSON nor YAML ({error.__class__.__name__})"


def main() -> None:
    cpu_seconds, memory_bytes, max_nesting = (int(argument) for argument in sys.argv[1:4])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    text = sys.stdin.buffer.read().decode("utf-8", "replace")
    try:
        result = outcome(text, max_nesting)
    except MemoryError:
        result = ("refused", f"parsing it needed more than {memory_bytes >> 20} MiB; not used")
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main()
