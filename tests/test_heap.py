"""compat/heap.py: a step's freed memory stays for the next step."""
from tests.conftest import run_command, succeeded

# Blocks of 1-21 MB taken and freed from a thread of its own, step after
# step, as a Keras step does; the minor page faults of the steps.
STEPS = """
import resource, sys, threading
import numpy as np
if sys.argv[1] == "on":
    from compat.heap import keep_freed_memory
    keep_freed_memory()
def steps():
    for _ in range(30):
        held = [np.ones(megabytes << 17) for megabytes in (1, 3, 5, 8, 13, 21)]
        del held
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
thread = threading.Thread(target=steps)
thread.start()
thread.join()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(headroom):
    """Each in a process of its own: the headroom cannot be taken back."""
    return int(succeeded(run_command("-c", STEPS, headroom)))


def test_the_heap_keeps_freed_memory_for_the_next_step():
    assert page_faults("on") * 10 < page_faults("off")
