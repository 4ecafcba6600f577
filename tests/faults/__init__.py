"""Fixtures of the grading tests: the fault catalog and throwaway released courses."""
