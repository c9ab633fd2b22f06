"""Errors a user can act on. Each one's message is a single readable sentence."""


class StudioError(Exception):
    """Base class: the CLI prints the message on one line and exits 2; the UI shows it with st.error."""


class ConfigError(StudioError, ValueError):
    """An experiment config has a bad field; the message names the field and the allowed values."""


class DataError(StudioError, ValueError):
    """A dataset cannot be loaded or does not fit the experiment (missing file, bad shape, NaN, ...)."""


class TrainingError(StudioError, RuntimeError):
    """Training cannot go on, for example because the loss became NaN."""


class RunError(StudioError, OSError):
    """A saved run folder is missing, incomplete or unreadable."""


class NotFittedError(StudioError, RuntimeError):
    """A detector is used before it has been fitted (or loaded), or asked to flag before it has a threshold."""


def reason(exc: BaseException) -> str:
    """An exception as one short line, for the end of a message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
