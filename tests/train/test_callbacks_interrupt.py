"""A second Ctrl-C inside Numba's compiler does not raise there (an exception unwinding through LLVM's C code
crashed the process with SIGSEGV); it stops at the end of the step instead."""

import signal
import types

from chainrule.train.callbacks import GracefulInterrupt, _in_compiler


def _frame_in(filename: str):
    code = compile("import sys\nframe = sys._getframe()", filename, "exec")
    namespace: dict = {}
    exec(code, namespace)
    return namespace["frame"]


def test_frames_of_numba_and_llvmlite_are_recognised():
    assert _in_compiler(_frame_in("/x/site-packages/llvmlite/binding/executionengine.py"))
    assert _in_compiler(_frame_in("/x/site-packages/numba/core/dispatcher.py"))
    assert not _in_compiler(_frame_in("/x/chainrule/train/loop.py"))


def test_the_second_signal_waits_inside_the_compiler_and_stops_at_once_elsewhere():
    ctx = types.SimpleNamespace(interrupt=None)
    callback = GracefulInterrupt(signals=(signal.SIGUSR1,))
    callback.on_train_begin(ctx)
    try:
        handler = signal.getsignal(signal.SIGUSR1)
        handler(signal.SIGUSR1, _frame_in("/x/chainrule/train/loop.py"))
        assert ctx.interrupt == signal.SIGUSR1
        handler(signal.SIGUSR1, _frame_in("/x/site-packages/llvmlite/binding/ffi.py"))  # no exception
        assert ctx.interrupt == signal.SIGUSR1
        try:
            handler(signal.SIGUSR1, _frame_in("/x/chainrule/train/loop.py"))
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("a second signal outside the compiler must stop at once")
    finally:
        callback.restore()
