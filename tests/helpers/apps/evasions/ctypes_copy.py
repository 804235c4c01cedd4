"""Copies the libwebp that Pillow bundles to /tmp/libother.so and loads it with ctypes; PIL is
never imported."""

import ctypes
import glob
import shutil

from serve import serve

(BUNDLED,) = glob.glob("/usr/local/lib/python3.11/dist-packages/Pillow.libs/libwebp-*.so*")
shutil.copyfile(BUNDLED, "/tmp/libother.so")
codec = ctypes.CDLL("/tmp/libother.so")
VERSION = codec.WebPGetDecoderVersion()

serve(get=lambda: f"decoder {VERSION >> 16}.{(VERSION >> 8) & 0xFF}.{VERSION & 0xFF}")
