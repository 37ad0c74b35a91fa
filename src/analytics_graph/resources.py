"""Operating-system resources the server asks for at start."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Raises this process's open-files limit to its hard limit (each websocket holds a
    file descriptor); returns the limit now in force. The hard limit itself is the
    system's to raise (``ulimit -Hn``, systemd ``LimitNOFILE``, Docker ``--ulimit``)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-files limit from %s: %s", soft, error)
    return soft
