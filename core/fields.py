"""Every experiment-config field described once: type, limits, choices, the data kinds it fits, label and help.

The one declaration of each field's default, type, limits, choices, label and help: core.config's dataclasses
take their defaults from here (`core.config.default`). This module imports no dataset loader.

In the spirit of scikit-learn's `_parameter_constraints`: validation (`validate`), the dashboard's
widgets (their limits, options, labels and help), the model-kind / loss compatibility with images
and series, docs/config.md's table (core.config.markdown_table) and every message that names a field
(`name`) all read `FIELDS`. Adding a field is one entry here (with its `default`), its attribute in
core.config (`name: type = default("section.name")`) and its use.

Data kinds: "image" (h, w, c) samples, "series" (length,) samples, and "timeseries" (one long series whose
sliding windows are the samples). A field with `applies_to` only means something for those kinds: the
dashboard shows its widget only there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.kinds import IMAGE, SERIES, TIMESERIES

USER_FILE_SUFFIXES = (".npz", ".csv", ".zip")


@dataclass(frozen=True)
class Field:
    """One config field.

    type: "int", "float", "bool" (a switch), "choice", "choices" (a list of distinct choices, possibly empty),
        "str", "labels" (class list), "sizes" (list of positive ints) or "dataset".
    low / high: inclusive limits of a number, or of each entry of "sizes".
    choices: the allowed values of a "choice", in the order the dashboard offers them, with `choice_labels`.
    kinds: for a "choice", which values fit which data kind (missing kind = all choices fit).
    applies_to: the data kinds the field is used for (empty: every kind).
    optional: null is allowed (and means what `null_means` says).
    auto: when set, the string "auto" is allowed too, and means this (chosen from the data, e.g. its width).
    step / format: how the dashboard's number widget steps and prints it.
    """

    path: str
    label: str
    type: str
    help: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    choice_labels: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    applies_to: tuple = ()
    optional: bool = False
    null_means: str = ""
    step: float | None = None
    format: str | None = None
    auto: str = ""
    default: Any = None  # the config's default (a tuple stands for a list; core.config.default makes it one)

    @property
    def name(self) -> str:
        """How messages name the field: its dashboard label and its config path."""
        return f"{self.label} ({self.path})"

    def choices_for(self, kind: str | None) -> tuple:
        """The choices that fit data of `kind` (all choices when the kind is unknown)."""
        return tuple(self.kinds.get(kind, self.choices)) if kind else self.choices

    def label_of(self, choice: Any) -> str:
        return self.choice_labels.get(choice, str(choice))

    @property
    def limits(self) -> str:
        """The inclusive limits as messages and docs/config.md show them, e.g. "[1, 4096]"; "" when unbounded."""

        def shown(limit: float | None) -> str:
            if limit is None:
                return "…"
            return str(int(limit)) if self.type in ("int", "sizes") else f"{limit:g}"

        return f"[{shown(self.low)}, {shown(self.high)}]" if (self.low, self.high) != (None, None) else ""

    def within(self, value: float) -> bool:
        """Whether a number is inside the inclusive limits (either may be None: unbounded)."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def applies(self, kind: str | None) -> bool:
        """Whether the field is used for data of `kind` (True when the kind is unknown)."""
        return not self.applies_to or kind is None or kind in self.applies_to


ERROR_LABELS = {
    "mse": "MSE (squared error)",
    "mae": "MAE (absolute error)",
    "bce": "Binary cross-entropy",
    "ssim": "1 − SSIM (structure)",
    "ssim_mse": "√((1 − SSIM) · MSE): structure and brightness",
}
BASELINES = ("pca", "iforest", "knn", "ecod")  # core.baselines implements each; default: all
ERRORS_BY_KIND = {
    IMAGE: ("mse", "mae", "bce", "ssim", "ssim_mse"),
    SERIES: ("mse", "mae", "bce"),
    TIMESERIES: ("mse", "mae", "bce"),
}
SAMPLE_KINDS = (IMAGE, SERIES)  # kinds made of separate samples, with classes to choose from

_FIELDS = (
    Field(
        "seed",
        "Seed",
        "int",
        "Every random choice (sampling, splits, weights, shuffling) follows it.",
        low=0,
        high=2**32 - 1,
        default=42,
    ),
    Field(
        "name",
        "Name",
        "str",
        "A name for the experiment, used in run folder names.",
        optional=True,
        null_means="named after the dataset",
        default=None,
    ),
    Field(
        "data.dataset",
        "Dataset",
        "dataset",
        "A built-in dataset (digits, mnist, fashion_mnist, ecg5000, nab/<file stem> such as nab/nyc_taxi) or the path of "
        "a .npz, .csv, .zip or image folder; a .csv with a timestamp column is a time series.",
        default="digits",
    ),
    Field(
        "data.layout",
        "Read a .csv as",
        "choice",
        "Auto: a column of timestamps makes a time series, a header a table (one sample per row, each column "
        "a quantity of its own, scaled on its own), no header rows of series steps. Table or series: read it so.",
        choices=("auto", "table", "series"),
        choice_labels={"auto": "Auto", "table": "Table", "series": "Series (each row one curve of steps)"},
        default="auto",
    ),
    Field(
        "data.normal_classes",
        "Normal classes",
        "labels",
        "Classes treated as normal.",
        optional=True,
        null_means="every class not listed as anomalous",
        applies_to=SAMPLE_KINDS,
        default=None,
    ),
    Field(
        "data.anomaly_classes",
        "Anomaly classes",
        "labels",
        "Classes treated as anomalies.",
        optional=True,
        null_means="none",
        applies_to=SAMPLE_KINDS,
        default=None,
    ),
    Field(
        "data.contamination",
        "Anomalies per normal sample",
        "float",
        "Draws round(contamination × normals) samples of the anomaly classes.",
        low=0.0,
        high=1.0,
        optional=True,
        null_means="every sample of the anomaly classes",
        step=0.005,
        format="%.3f",
        applies_to=SAMPLE_KINDS,
        default=None,
    ),
    Field(
        "data.inject.dataset",
        "Inject from",
        "dataset",
        "Another dataset of the same sample shape.",
        applies_to=SAMPLE_KINDS,
        default="mnist",
    ),
    Field(
        "data.inject.classes",
        "Classes to inject",
        "labels",
        "Classes of the injected dataset.",
        optional=True,
        null_means="any class",
        default=None,
    ),
    Field(
        "data.inject.count",
        "How many to inject",
        "int",
        "Injected samples, scored as anomalies.",
        low=1,
        high=100_000,
        applies_to=SAMPLE_KINDS,
        default=1,
    ),
    Field(
        "data.protocol",
        "Protocol",
        "choice",
        "Inductive: train on one part, score a held-out part (time series: train on the first part, "
        "score all of it). Transductive: train on and score the same samples.",
        choices=("inductive", "transductive"),
        choice_labels={"inductive": "Inductive", "transductive": "Transductive"},
        default="inductive",
    ),
    Field(
        "data.split",
        "Split to use",
        "choice",
        "The official split a transductive run uses, on datasets that have one.",
        choices=("train", "test", "all"),
        choice_labels={"train": "Training split", "test": "Test split", "all": "Both splits"},
        applies_to=SAMPLE_KINDS,
        default="train",
    ),
    Field(
        "data.window",
        "Window length",
        "int",
        "Time steps per window: the samples the autoencoder sees are the series' sliding windows.",
        low=2,
        high=10_000,
        applies_to=(TIMESERIES,),
        default=288,
    ),
    Field(
        "data.stride",
        "Window stride",
        "int",
        "Time steps from one window's start to the next; at most the window length.",
        low=1,
        high=10_000,
        applies_to=(TIMESERIES,),
        default=1,
    ),
    Field(
        "data.train_span",
        "Training span",
        "float",
        "Share of the series, from its start, that trains the model; the whole series is scored.",
        low=0.01,
        high=1.0,
        optional=True,
        null_means="inductive: NAB's probationary period, the first min(⌊0.15·n⌋, 750) rows; transductive: all of it",
        step=0.05,
        format="%.2f",
        applies_to=(TIMESERIES,),
        default=None,
    ),
    Field(
        "data.scaling",
        "Scaling",
        "choice",
        "How each channel is scaled for the model, with statistics of the training span. Robust: (value − median) / "
        "interquartile range into a linear output, so values far outside the training range keep their distance. "
        "Min-max: into [0, 1] and a sigmoid output, which squashes values beyond the training range (the Keras "
        "example's art_daily setting keeps it).",
        choices=("robust", "minmax"),
        choice_labels={
            "robust": "Robust (median, IQR), linear output",
            "minmax": "Min-max into [0, 1], sigmoid output",
        },
        applies_to=(TIMESERIES,),
        default="robust",
    ),
    Field(
        "data.train_dataset",
        "Train on",
        "dataset",
        "Another time series (built-in name or CSV path) whose training span trains the model; "
        "the dataset above is then only scored.",
        optional=True,
        null_means="the scored series itself",
        applies_to=(TIMESERIES,),
        default=None,
    ),
    Field(
        "data.limit",
        "Sample limit",
        "int",
        "At most this many samples per part, keeping each class's share.",
        low=10,
        high=10_000_000,
        optional=True,
        null_means="all samples",
        step=1000,
        applies_to=SAMPLE_KINDS,
        default=None,
    ),
    Field(
        "data.test_fraction",
        "Held-out fraction",
        "float",
        "Share held out for scoring (inductive runs on datasets without an official split).",
        low=0.01,
        high=0.99,
        step=0.05,
        format="%.2f",
        applies_to=SAMPLE_KINDS,
        default=0.2,
    ),
    Field(
        "model.kind",
        "Architecture",
        "choice",
        "Dense layers, or stride-2 convolutions for images or series.",
        choices=("conv", "conv1d", "dense"),
        choice_labels={"conv": "Convolutional (2-D)", "conv1d": "Convolutional (1-D)", "dense": "Dense"},
        kinds={IMAGE: ("conv", "dense"), SERIES: ("conv1d", "dense"), TIMESERIES: ("conv1d", "dense")},
        default="dense",
    ),
    Field(
        "model.latent_dim",
        "Latent size",
        "int",
        "How many numbers the encoder squeezes each sample into.",
        low=1,
        high=4096,
        auto="a quarter of the input's width, at least 2 and at most 16",
        default="auto",
    ),
    Field(
        "model.hidden",
        "Hidden layers",
        "sizes",
        "Dense models: units per hidden layer, like 128, 64; empty for a single code layer.",
        low=1,
        high=65_536,
        auto="one layer twice the input's width for inputs narrower than 64 numbers (tables), else 256, 128",
        default="auto",
    ),
    Field(
        "model.filters",
        "Convolution filters",
        "sizes",
        "Convolutional models: filters per stride-2 layer, like 32, 64.",
        low=1,
        high=4096,
        default=(32, 64),
    ),
    Field(
        "model.kernel_size",
        "Kernel size",
        "int",
        "Convolution window, in pixels or time steps.",
        low=1,
        high=15,
        default=3,
    ),
    Field(
        "train.loss",
        "Loss",
        "choice",
        "The reconstruction error minimised in training.",
        choices=ERRORS_BY_KIND[IMAGE],
        choice_labels=ERROR_LABELS,
        kinds=ERRORS_BY_KIND,
        default="mse",
    ),
    Field("train.epochs", "Epochs", "int", "Passes over the training samples.", low=1, high=10_000, default=20),
    Field("train.batch_size", "Batch size", "int", "Samples per gradient step.", low=1, high=65_536, default=32),
    Field(
        "train.learning_rate",
        "Learning rate",
        "float",
        "Adam's step size.",
        low=1e-6,
        high=1.0,
        step=1e-4,
        format="%.5f",
        default=0.001,
    ),
    Field(
        "train.noise",
        "Input noise (denoising)",
        "float",
        "Standard deviation of Gaussian noise added to the training inputs (on the [0, 1] scale the model sees), "
        "never to the targets: the autoencoder learns to rebuild clean samples from noisy ones. 0 turns it off.",
        low=0.0,
        high=1.0,
        step=0.05,
        format="%.2f",
        default=0.0,
    ),
    Field(
        "train.validation_fraction",
        "Validation fraction",
        "float",
        "Share of the training samples held out to watch the validation loss.",
        low=0.0,
        high=0.9,
        step=0.05,
        format="%.2f",
        default=0.2,
    ),
    Field(
        "train.early_stopping_patience",
        "Early-stopping patience",
        "int",
        "Epochs without a better validation loss before training stops; the best weights are kept.",
        low=1,
        high=1000,
        optional=True,
        null_means="off",
        default=None,
    ),
    Field(
        "train.tensorboard",
        "Write TensorBoard logs",
        "bool",
        "Log the loss and validation loss of every epoch for TensorBoard; a saved run keeps them in its "
        "tensorboard/ folder. Opening them needs the tensorboard package: tensorboard --logdir RUN/tensorboard.",
        default=False,
    ),
    Field(
        "train.tensorboard_dir",
        "TensorBoard folder",
        "str",
        "A folder of your own to write TensorBoard logs in as training goes (then also without the switch); with "
        "the switch on, a saved run keeps a copy.",
        optional=True,
        null_means="a temporary folder, with the switch on",
        default=None,
    ),
    Field(
        "train.strategy",
        "Distribution",
        "choice",
        "How training is spread over devices (tf.distribute): auto uses every GPU of this machine "
        "(MirroredStrategy) when there are several, else one device; multi_worker trains on a cluster "
        "described by the TF_CONFIG environment variable (MultiWorkerMirroredStrategy), whose chief saves the run. "
        "The batch size is the global one, split across devices.",
        choices=("auto", "mirrored", "multi_worker"),
        choice_labels={
            "auto": "Automatic (all GPUs of this machine)",
            "mirrored": "Mirrored (this machine's devices)",
            "multi_worker": "Multi-worker (cluster from TF_CONFIG)",
        },
        default="auto",
    ),
    Field(
        "train.mixed_precision",
        "Mixed precision",
        "bool",
        "GPUs only: compute in float16 with float32 weights and a float32 output layer (mixed_float16), with "
        "loss scaling; ignored with a warning on a machine without a GPU.",
        default=False,
    ),
    Field(
        "train.jit_compile",
        "XLA compilation",
        "bool",
        "Compile the training step with XLA (jit_compile). Off by default: on CPU it trained the conv presets "
        "2.7× slower (docs/benchmarks.md); worth trying on GPUs.",
        default=False,
    ),
    Field(
        "score.error",
        "Anomaly score",
        "choice",
        "The reconstruction error each sample is scored by.",
        choices=ERRORS_BY_KIND[IMAGE],
        choice_labels=ERROR_LABELS,
        kinds=ERRORS_BY_KIND,
        default="mse",
    ),
    Field(
        "score.density_components",
        "Code density components",
        "int",
        "DAGMM-style: also score how unlikely a sample's code is under a mixture of this many Gaussians fitted to "
        "the training samples' codes (its negative log-likelihood). The score is then the sum of the two, each as a "
        "z-score over the training samples (of the error's logarithm). 0: the reconstruction error alone.",
        low=0,
        high=64,
        applies_to=SAMPLE_KINDS,
        auto="4 for tables, whose anomalies may lie far out along the code's directions or between its clusters, "
        "0 for other data",
        default="auto",
    ),
    Field("score.batch_size", "Scoring batch size", "int", "Samples scored at once.", low=1, high=65_536, default=1024),
    Field(
        "score.aggregate",
        "Score per timestamp",
        "choice",
        "A timestamp's score: the mean or the max of the errors of the windows that cover it.",
        choices=("mean", "max"),
        choice_labels={"mean": "Mean of covering windows", "max": "Max of covering windows"},
        applies_to=(TIMESERIES,),
        default="mean",
    ),
    Field(
        "score.causal",
        "Streaming score",
        "bool",
        "Score each timestamp from the window that ends at it, so a score uses only the past and a deployed model "
        "can score as data arrives (the first window − 1 timestamps, with no full window behind them, score 0). "
        "Off: a timestamp's score also uses the windows after it (Score per timestamp).",
        applies_to=(TIMESERIES,),
        default=False,
    ),
    Field(
        "score.likelihood",
        "Anomaly likelihood",
        "bool",
        "Score each timestamp by the likelihood, in [0, 1], that its error is unusual against the series' longer "
        "history of errors (a Gaussian of the errors before it, read as a tail probability on a log scale, after "
        "NAB's HTM likelihood), instead of the raw error: it means the same on every series, so one threshold "
        "serves many.",
        applies_to=(TIMESERIES,),
        default=False,
    ),
    Field(
        "score.baselines",
        "Classical baselines",
        "choices",
        "Classical detectors run on the same training and scored samples, for comparison; empty for none.",
        choices=BASELINES,
        choice_labels={
            "pca": "PCA reconstruction",
            "iforest": "Isolation Forest",
            "knn": "kNN distance (k = 5)",
            "ecod": "ECOD",
        },
        default=BASELINES,
    ),
    Field(
        "threshold.method",
        "How to choose it",
        "choice",
        "How the anomaly threshold is chosen.",
        choices=("value", "quantile", "mean_std", "max", "contamination", "fpr", "best_f1"),
        choice_labels={
            "value": "Manual",
            "quantile": "Quantile of the errors",
            "mean_std": "Mean + k·σ of training errors",
            "max": "Max training error",
            "contamination": "Expected contamination",
            "fpr": "Target false-positive rate",
            "best_f1": "Best F1 (uses labels)",
        },
        default="quantile",
    ),
    Field(
        "threshold.value",
        "Threshold",
        "float",
        "The threshold itself; required when the method is manual.",
        optional=True,
        null_means="chosen by the method",
        default=None,
    ),
    Field(
        "threshold.q",
        "Quantile q",
        "float",
        "Quantile of the scored errors (method quantile).",
        low=0.0,
        high=1.0,
        step=0.001,
        format="%.3f",
        default=0.99,
    ),
    Field(
        "threshold.k",
        "k (standard deviations)",
        "float",
        "Mean + k·std of the training errors (method mean_std).",
        low=-100.0,
        high=100.0,
        step=0.1,
        format="%.2f",
        default=2.0,
    ),
    Field(
        "threshold.rate",
        "Rate",
        "float",
        "Share of samples to flag (contamination), or of normals let through (fpr).",
        low=0.0001,
        high=0.9999,
        step=0.001,
        format="%.4f",
        default=0.01,
    ),
)
FIELDS: dict[str, Field] = {f.path: f for f in _FIELDS}
LABELLED_METHODS = ("fpr", "best_f1")
# DataConfig fields, and the field that names them, that only samples of images or series use (null otherwise).
SAMPLE_ONLY = {
    key: f"data.{key}{'.dataset' if key == 'inject' else ''}"
    for key in ("normal_classes", "anomaly_classes", "contamination", "inject", "limit")
}


def name(path: str) -> str:
    """`path` as messages name it, e.g. "Latent size (model.latent_dim)"."""
    return FIELDS[path].name


def get(config: Any, path: str) -> Any:
    """The value of the field `path` in `config`; None below an absent section (data.inject.count, nothing injected)."""
    value = config
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def shown(path: str, value: Any) -> str:
    """A value of the field `path` as the dashboard words it: choices by their labels, lists joined, switches
    "on"/"off", None as what it means for that field."""
    spec = FIELDS[path]
    if value is None:
        return spec.null_means or "none"
    if spec.auto and value == "auto":
        return f"auto ({spec.auto})"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(spec.label_of(entry)) for entry in value) or "none"
    return f"{value:g}" if isinstance(value, float) else spec.label_of(value)
