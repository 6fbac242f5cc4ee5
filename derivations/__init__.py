"""The mathematics: each claim of the seeds encoded in sympy (sympy only; never imports impl/)."""
