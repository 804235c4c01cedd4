"""Image layers as every part of an analysis reads them: one set of checked entries, one identity of code."""
