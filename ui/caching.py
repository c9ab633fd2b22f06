"""One cache per trained result, in the session: what is derived from a result's scores once, kept while the
threshold moves (a threshold change makes a new result sharing the same scores) and rebuilt for a new training
or an opened run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

_T = TypeVar("_T")


def per_result(key: str, result, build: Callable[[], _T]) -> _T:
    """build()'s value for `result`, kept in st.session_state[key] and reused while `result.scores` is the same
    array: the facts a threshold change leaves as they are."""
    cached = st.session_state.get(key)
    if cached is not None and cached[0] is result.scores:
        return cached[1]
    built = build()
    st.session_state[key] = (result.scores, built)
    return built
