"""The fault suite: real Earshot processes on a real stack, killed and restarted while traffic flows.

Each scenario (:mod:`devkit.chaos.scenarios`) produces numbered mentions (or alerts)
at a steady rate, kills a process or a server with SIGKILL, brings it back, and
reports what was produced, indexed, missing and duplicated, what was emailed
(to a real SMTP server on loopback) and how long processing took to resume.
``python -m bench.bench_chaos`` (``make chaos``) runs them all on a stack of its
own, never the shared one; ``tests/e2e/test_chaos_short.py`` runs one in ``make test``.
"""
