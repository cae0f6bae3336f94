"""The listener project that ``hookwire init`` copies; this file only makes it package data."""
