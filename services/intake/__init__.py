"""Namespace for test discovery: gives each package's tests a unique module path."""
