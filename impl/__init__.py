"""The hand-written kernels under test (numpy and torch; never imports derivations/ or autograd)."""
