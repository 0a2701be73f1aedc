"""The Hayes protocol itself: modem output as lines, result codes and caller ID as events, chat scripts.

What a Hayes-compatible modem says and how to talk to it, with nothing about answering calls: the answer
machine (``answerd.core``) and the shell's relay or dialog code build on these. Internal to the core; the
shell imports the names it needs from ``answerd.core``.

* :mod:`.lines` — bytes to bounded, printable text lines (chunking-invariant);
* :mod:`.codes` — one line to one event (:mod:`.events`), for every dialect the core knows;
* :mod:`.cid` — caller information and its sanitiser;
* :mod:`.chat` — mgetty-style expect/send chat scripts;
* :mod:`.framed` — "a framed modem result while online", the one definition the login guard uses.
"""

from __future__ import annotations

__all__: list[str] = []
