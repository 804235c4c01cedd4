"""Image layers, read one way by every part of an analysis: checked digests and entries, verified reading,
application onto a directory, the merged tree, the image's links, and the identity of code."""
