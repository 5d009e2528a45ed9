"""Where a Python process's CPU goes, thread by thread, counted in CPU time.

    python -m bench.cpu_sampler --out stacks.txt ivr      # run `python -m ivr` under it
    kill -USR1 <pid>   # start sampling        kill -USR2 <pid>   # stop, write stacks.txt
    python -m bench.cpu_sampler --report stacks.txt [--top 40]

bench/load.py --profile runs the bridge this way during the hotline phase.

The main thread (the bridge's event loop, which callers wait on) has a POSIX timer on its
own CPU clock (timer_create, SIGEV_THREAD_ID): every MAIN_INTERVAL of its CPU the timer
signals it, and the handler, which runs in that thread at its next bytecode boundary,
gives the CPU used since the last sample to the stack it is in. The other threads (the
writer's, the drivers') are looked at every INTERVAL from a thread of the sampler's own:
what each used since the last look (pthread_getcpuclockid) goes to the stack it is in then
(sys._current_frames), which is right for a thread that runs long stretches (a batch)
and leaves a waiting thread's CPU on its waiting frame. A thread that sleeps, or waits in
select or for the GIL, gets nothing. py-spy, by contrast, counts a thread that waits for
a core as busy; cProfile adds to each function call. Under the sampler the process costs
more (its look, the main thread's signal: about twice the bridge's CPU at 100 concurrent),
so read the shares, not the milliseconds. The handler's own time is left out.

Output: collapsed stacks, one line each: `thread;module:function;... microseconds`
(flamegraph.pl reads it), outermost frame first.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import runpy
import signal
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType

INTERVAL = 0.002  # the other threads' look
MAIN_INTERVAL = 0.0005  # of the main thread's CPU between two of its samples
SIGEV_THREAD_ID = 4  # Linux: a timer's signal goes to one thread


class _SigEvent(ctypes.Structure):  # struct sigevent, Linux
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int),
                ("notify", ctypes.c_int), ("tid", ctypes.c_int), ("pad", ctypes.c_int * 11)]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("interval", _TimeSpec), ("value", _TimeSpec)]


class _ThreadCpuTimer:
    """A POSIX timer on one thread's CPU clock that signals that thread (timer_create with
    SIGEV_THREAD_ID): it fires only while the thread runs."""

    def __init__(self, ident: int, native_id: int, signo: int) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        event = _SigEvent(signo=signo, notify=SIGEV_THREAD_ID, tid=native_id)
        self._timer = ctypes.c_void_p()
        clock = time.pthread_getcpuclockid(ident)
        if self._libc.timer_create(ctypes.c_int(clock), ctypes.byref(event),
                                   ctypes.byref(self._timer)):
            raise OSError(ctypes.get_errno(), "timer_create")

    def arm(self, seconds: float) -> None:
        whole, ns = int(seconds), int(seconds % 1 * 1e9)
        period = _TimeSpec(whole, ns)
        spec = _ITimerSpec(period, period)
        if self._libc.timer_settime(self._timer, 0, ctypes.byref(spec), None):
            raise OSError(ctypes.get_errno(), "timer_settime")


def _where(code: CodeType) -> str:
    name = code.co_filename
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    else:
        name = "/".join(name.rsplit("/", 2)[-2:])
    return f"{name.removesuffix('.py').replace('/', '.')}:{code.co_qualname}"


class Sampler:
    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.ns: collections.Counter[tuple[str, tuple[CodeType, ...]]] = collections.Counter()
        self._on = threading.Event()
        self._clocks: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._lock = threading.Lock()
        main = threading.main_thread()
        self._main = main.ident or 0
        self._main_clock = time.pthread_getcpuclockid(self._main)
        self._main_last = 0
        self._main_timer = _ThreadCpuTimer(self._main, main.native_id or 0, signal.SIGPROF)

    def start(self) -> None:
        """From the main thread: the sampler's thread, and the main thread's timer (not yet
        running: resume)."""
        signal.signal(signal.SIGPROF, self._on_main)
        threading.Thread(target=self._run, name="cpu-sampler", daemon=True).start()

    def resume(self) -> None:
        self._last.clear()
        self._main_last = 0
        self._on.set()
        self._main_timer.arm(MAIN_INTERVAL)

    def pause(self) -> None:
        self._main_timer.arm(0)
        self._on.clear()

    def _clock(self, ident: int) -> int | None:
        clock = self._clocks.get(ident)
        if clock is None:
            try:
                clock = self._clocks[ident] = time.pthread_getcpuclockid(ident)
            except OSError:
                return None
        try:
            return time.clock_gettime_ns(clock)
        except OSError:
            return None

    def _run(self) -> None:
        me = threading.get_ident()
        while True:
            self._on.wait()
            time.sleep(self.interval)
            with self._lock:
                self._look(me)

    def _look(self, me: int) -> None:
        names = None
        for ident, frame in sys._current_frames().items():
            if ident in (me, self._main):
                continue
            now = self._clock(ident)
            if now is None:
                continue
            used = now - self._last.get(ident, now)
            self._last[ident] = now
            if used > 0:
                names = names or {t.ident: t.name for t in threading.enumerate()}
                self.ns[(names.get(ident, str(ident)), _stack(frame))] += used

    def _on_main(self, signum: int, frame: FrameType | None) -> None:
        """SIGPROF from the main thread's CPU timer: the handler runs in that thread at
        its next bytecode boundary, so `frame` is where it was running."""
        clock = self._main_clock
        now = time.clock_gettime_ns(clock)
        used = now - self._main_last if self._main_last else 0
        if used > 0 and self._on.is_set():
            with self._lock:
                self.ns[("MainThread", _stack(frame))] += used
        self._main_last = time.clock_gettime_ns(clock)  # the handler's own time left out

    def write(self, out: Path) -> None:
        lines = []
        with self._lock:
            counts = self.ns.most_common()
        for (thread, codes), ns in counts:
            lines.append(";".join([thread, *(_where(c) for c in codes)]) + f" {ns // 1000}")
        out.write_text("\n".join(lines) + "\n")


def _stack(frame: FrameType | None) -> tuple[CodeType, ...]:
    codes = []
    while frame is not None:
        codes.append(frame.f_code)
        frame = frame.f_back
    return tuple(reversed(codes))


def report(path: Path, top: int) -> None:
    """Per thread: its CPU, then the functions with the most CPU in them (inclusive) and
    the most of their own (the innermost frame)."""
    threads: collections.Counter[str] = collections.Counter()
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in path.read_text().splitlines():
        stack, _, us = line.rpartition(" ")
        thread, *frames = stack.split(";")
        threads[thread] += int(us)
        for name in set(frames):
            inclusive[thread][name] += int(us)
        if frames:
            own[thread][frames[-1]] += int(us)
    total = sum(threads.values()) or 1
    for thread, us in threads.most_common():
        print(f"\n== {thread}: {us / 1000:.0f} ms ({100 * us / total:.0f} %)")
        print("  inclusive:")
        for name, n in inclusive[thread].most_common(top):
            print(f"    {100 * n / us:5.1f} %  {name}")
        print("  own:")
        for name, n in own[thread].most_common(top // 2):
            print(f"    {100 * n / us:5.1f} %  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="where SIGUSR2 writes the stacks")
    parser.add_argument("--report", type=Path, help="summarise a stacks file and exit")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("module", nargs="?", help="the module to run, as python -m does")
    args, rest = parser.parse_known_args()
    if args.report:
        report(args.report, args.top)
        return 0
    if not args.module or not args.out:
        parser.error("give --out and the module to run")
    sampler = Sampler()
    sampler.start()
    out = args.out
    signal.signal(signal.SIGUSR1, lambda *_: sampler.resume())

    def stop(*_: object) -> None:
        sampler.pause()
        sampler.write(out)

    signal.signal(signal.SIGUSR2, stop)
    sys.argv = [args.module, *rest]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
