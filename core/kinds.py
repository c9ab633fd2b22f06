"""The kinds of data: "image" (h, w, c) samples, "series" (length,) samples, and "timeseries" (one long series
whose sliding windows are the samples). Here, free of every loader, so the config schema (core.fields) can name
them."""

IMAGE, SERIES, TIMESERIES = "image", "series", "timeseries"
KINDS = (IMAGE, SERIES, TIMESERIES)
