"""Earshot's dev kit: what tests, benchmarks and ``make run`` share to drive the real local stack.

Replay servers (``devkit.replay``), the worker harness (``devkit.worker``), waiting
helpers (``devkit.waiting``), the demo corpus (``devkit.corpus``), example events
(``devkit.events``) and the local stack's addresses (``devkit.stack``). Nothing in the
product imports it.
"""
