"""Weights vidgen trains and ships (see training/ for how each file was made)."""
