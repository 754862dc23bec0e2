"""Test-suite settings: under CI (CI=true) hypothesis runs derandomized and without its example
database, so a CI result is reproducible; locally it explores new examples on every run."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Lava 0.10 calls multiprocessing.set_start_method('fork') (without force) when its message
# infrastructure is first imported; tqdm's progress-bar lock and numba's first parallel launch fix the
# start method before that. The backend guards its own imports (backends/lava/_mp.py), but several
# tests import Lava directly, and under pytest-xdist a worker may run such a test after an emulator
# test with a progress bar. Importing it here first makes the suite independent of test order.
import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: E402,F401
