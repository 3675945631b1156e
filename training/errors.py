"""How a run ends: one line for a mistake the user can fix, no traceback on a stop."""
import contextlib
import os
import signal
import sys

from errors import UserError


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, as Ctrl-C raises KeyboardInterrupt:
    what `timeout`, CI and service managers send stops a run as Ctrl-C does."""


# The stops received and not yet handled. Python drops an exception that a
# signal handler raises inside a __del__ or a callback from C code, printing
# "Exception ignored in ..." with a traceback (quiet_dropped_stop silences
# it), and the run would go on as if nothing came: the next batch raises it
# again (raise_missed_stop), so that no stop is lost.
unhandled_stops = []


def stop_for(signum):
    """The exception a stop raises: Terminated for SIGTERM, else KeyboardInterrupt."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def raise_stop(signum, frame):
    """The handler of Ctrl-C and SIGTERM that run_cli installs."""
    unhandled_stops.append(signum)
    raise stop_for(signum)


def quiet_dropped_stop(unraisable):
    """sys.unraisablehook: a stop that Python dropped prints nothing (it is
    in unhandled_stops, and raise_missed_stop raises it again); anything
    else prints as Python prints it."""
    if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and unhandled_stops):
        sys.__unraisablehook__(unraisable)


def raise_missed_stop():
    """Raise a stop that was received but never handled (see unhandled_stops)."""
    if unhandled_stops:
        raise stop_for(unhandled_stops[-1])


def stop_handled():
    """Say that the stop now raised is being handled: the run goes on with it."""
    unhandled_stops.clear()


@contextlib.contextmanager
def stops_deferred():
    """Hold Ctrl-C and SIGTERM until the block is done, then stop as they
    would have. The scripts hold them where a stop must not land:
    - between an epoch's checkpoint and its metrics line, which are written
      together (kill -9 cannot be held; resuming repairs the metrics file);
    - inside a framework's call. A KeyboardInterrupt raised in Python code
      that the framework's C++ calls back can crash it: in TensorFlow
      2.21's session.run, FlattenDictItems stores the NULL it got back
      into a dict, a segfault with no message."""
    received = []
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        raise stop_for(received[0])


def describe_stop(stop):
    """'stopped by Ctrl-C' or 'stopped by SIGTERM'."""
    return f"stopped by {'SIGTERM' if isinstance(stop, Terminated) else 'Ctrl-C'}"


def child_error(output, fallback):
    """What a child process failed with: the last `error: ` line of its
    output (else its last line), without the `error: `, or `fallback` if it
    printed nothing. A launcher's own lines may follow its worker's error."""
    lines = output.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors or lines)[-1].removeprefix("error: ") if lines else fallback


def run_cli(main, argv=None):
    """Call main(argv). A UserError ends the program with one line on stderr
    and exit 1; Ctrl-C or SIGTERM that main lets through, with one line and
    exit 130 or 143, as a shell reports a process ended by that signal; a
    closed pipe on stdout, silently with 141 (SIGPIPE's)."""
    # Set here, after the frameworks were imported: Paddle installs a handler
    # of its own that prints a C++ stack dump.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, raise_stop)
    sys.unraisablehook = quiet_dropped_stop
    try:
        main(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as stop:
        print(describe_stop(stop), file=sys.stderr)
        sys.exit(143 if isinstance(stop, Terminated) else 130)
    except BrokenPipeError:
        # The reader of stdout stopped (`| head`): end as a process that
        # SIGPIPE ended, silently; stdout to /dev/null so that the exit's
        # own flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
