"""The fleet across images: what the latest VEX of every analyzed image adds up to."""
