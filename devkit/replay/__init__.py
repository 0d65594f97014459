"""Local replay servers for the source APIs (rss, mastodon, bluesky, reddit, x), for tests,
bench and ``make run``.

``python -m devkit.replay <kind> --port N [--seed S]`` serves demo traffic about
Haringey and Monmouthshire; tests build the apps directly with a fault plan.
"""
