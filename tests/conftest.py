"""Test-suite settings: under CI (CI=true) hypothesis runs derandomized and without its example
database, so a CI result is reproducible; locally it explores new examples on every run."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
