"""Test plugins for gancore's own test suite."""
