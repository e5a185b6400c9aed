"""The exceptions chainrule raises, each a subclass of the built-in one a user would expect.

Catch ``ChainruleError`` for all of them, or the built-in (ValueError, TypeError, ...) as usual.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """An op or layer got an array of the wrong shape; the message names both shapes."""


class DTypeError(ChainruleError, TypeError):
    """Dtypes that would need a silent upcast, or a non-float tensor where a float one is needed."""


class GraphError(ChainruleError, RuntimeError):
    """Backward through a freed graph, or on a tensor that has none."""


class GradcheckError(ChainruleError, RuntimeError):
    """Autograd and numerical gradients disagree."""


class AnomalyError(ChainruleError, RuntimeError):
    """detect_anomaly() found NaN or infinity in an op's output or gradient."""


class DeviceError(ChainruleError, RuntimeError):
    """A device that cannot be used here: 'cuda' without CuPy or without a GPU."""


class DataError(ChainruleError, ValueError):
    """Bad data: NaN, labels out of range, an empty dataset, a malformed file."""


class ConfigError(ChainruleError, ValueError):
    """A bad hyperparameter, option or config-file entry."""


class CheckpointError(ChainruleError, OSError):
    """A checkpoint that cannot be read or written (truncated, not safetensors, wrong model)."""


class StateDictError(ChainruleError, KeyError):
    """load_state_dict with missing, unexpected or wrongly shaped keys; all are listed at once."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TrainingDiverged(ChainruleError, RuntimeError):
    """The loss became NaN/infinite or exploded; the message names epoch, step and a remedy."""


class TrainingInterrupted(ChainruleError, KeyboardInterrupt):
    """SIGINT/SIGTERM stopped training after a step; a checkpoint was saved to resume from."""

    def __init__(self, signal_number: int, epoch: int, step: int):
        super().__init__(f"interrupted by signal {signal_number} at epoch {epoch}, step {step}")
        self.signal_number, self.epoch, self.step = signal_number, epoch, step
