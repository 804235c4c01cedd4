"""The sandbox's user namespace: container uid/gid 0..65535 are host ids 100000..165535.

The container's root is an unprivileged host user: a file it creates (or escapes with) belongs to
uid 100000, and it holds capabilities only over what its own namespaces own. Layers are unpacked
with their ownership shifted into this range once, so every image can share them.
"""

ID_SHIFT = 100_000
ID_RANGE = 65_536
