"""dlmath_verify: the checking machinery of the verification suite for the mathematics of deep
learning, usable as a library and as a pytest plugin (``dlmath_verify.plugin``).

- ``dlmath_verify.checks``: the per-dtype tolerance table, ``assert_close``, the dot-product
  (VJP) test;
- ``dlmath_verify.symbolic``: the exact identity checker (``prove_identity``);
- ``dlmath_verify.strategies``: Hypothesis strategies (shape first, then values);
- ``dlmath_verify.registry``: claims (id, source, statement, sympy formula).
"""
