"""The pytest plugin of the checker, registered through the ``pytest11`` entry point as
``dlmath_verify.plugin`` (a project that has not installed the package can list it in its root
``conftest.py`` as ``pytest_plugins = ["dlmath_verify.plugin"]``; under the same name pytest
loads it once).

Each concern lives in its own module; this one only lists them.
"""

pytest_plugins = [
    "dlmath_verify._profiles",
    "dlmath_verify._grading",
    "dlmath_verify._claims",
]
