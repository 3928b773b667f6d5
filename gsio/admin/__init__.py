"""The Socket.IO Admin UI's server side: :func:`gsio.instrument`.

Above :mod:`gsio.server` (and beside :mod:`gsio.cluster`): built on the server's public hooks
only, its observers (:mod:`gsio.server.observers`) and its broadcast operators.

- :mod:`~gsio.admin.auth`: who may log in (``auth=False``, or a bcrypt-hashed password);
- :mod:`~gsio.admin.serialize`: sockets as the UI reads them, a ``conn.data`` that tells;
- :mod:`~gsio.admin.stats`: ``server_stats`` and the events counted for it;
- :mod:`~gsio.admin.events`: the observers that count and tell;
- :mod:`~gsio.admin.commands`: what an admin may do (emit, join, leave, disconnect);
- :mod:`~gsio.admin.instrument`: :func:`instrument`, tying it together.
"""

from __future__ import annotations

from gsio.admin.instrument import Instrumentation, instrument

__all__ = ["Instrumentation", "instrument"]
