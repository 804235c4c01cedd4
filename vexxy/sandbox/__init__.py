"""Run an image in an isolated sandbox and record what it really executes and opens."""
