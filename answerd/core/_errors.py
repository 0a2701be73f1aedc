"""Exceptions raised by the Hayes core, and the policy on when the core raises at all.

Strategy: the core raises only when the *shell* (the code that owns the port and feeds the core) breaks the
calling contract: feeding bytes to a dialog that has finished, handling a timer before ``start``. That is a
programming error in answerd itself, so it surfaces loudly as :class:`LocalProtocolError` and tests make
it impossible.

Anything the modem, the line or the caller does is **never** an exception. h11 raises
``RemoteProtocolError`` for a misbehaving peer; answerd deliberately does not, because a daemon on a real
phone line must survive noise, hostile callers and half-dead modems. Such input becomes an ordinary result
instead: ignored bytes, a refused login name, ``LoginFailed``, a timeout, or ``Fatal``.

A machine that raises leaves its phase unchanged, so the shell may log the bug and still clean up.
"""

from __future__ import annotations

__all__ = ["HayesError", "LocalProtocolError"]


class HayesError(Exception):
    """Base class of every exception the Hayes core raises."""


class LocalProtocolError(HayesError):
    """The shell misused the core (for example, fed input after the machine finished); always a bug.

    Modem or caller misbehaviour never raises this: it is handled as data.
    """
