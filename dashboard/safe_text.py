"""Node- and user-supplied text shown as literal text in Streamlit's Markdown elements.

Streamlit renders ``st.markdown``, ``st.caption``, ``st.success``/``st.error``/``st.info`` and widget labels as
GitHub-flavoured Markdown plus its own extensions (``:red[...]``, ``:material/icon:``, emoji shortcodes,
``$...$`` LaTeX). A machine name is chosen by whoever programs a node and a note by whoever types it, so
``![](http://host/t.png)`` would make every browser fetch that URL and ``[Re-login](http://evil)`` would become
a link.

Backslash escapes are not enough: GFM's bare-URL autolinks and the emoji shortcodes are applied to the parsed
text after escapes are resolved (measured in Chromium: ``http\\:\\/\\/host`` still became a link). A code span
is the one inline construct whose content CommonMark never parses and these tree passes never visit, so
:func:`md_literal` wraps the text in one, with a fence longer than any backtick run inside it.
Tables (``st.dataframe``) and ``st.text``/``st.code`` never interpret Markdown and need nothing.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_TICKS = re.compile(r"`+")


def md_literal(value: Any) -> str:
    """``str(value)`` as a Markdown code span: rendered literally (monospace) by every Streamlit element.

    Control characters (line breaks included) are folded to one space; an empty string stays empty.
    """
    text = _CONTROL.sub(" ", str(value))
    if not text:
        return ""
    fence = "`" * (max((len(m) for m in _TICKS.findall(text)), default=0) + 1)
    # CommonMark strips one space on each side when both are present, so padding keeps edge backticks apart.
    pad = " " if text.startswith("`") or text.endswith("`") or text.strip() == "" else ""
    return f"{fence}{pad}{text}{pad}{fence}"
