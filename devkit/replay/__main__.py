"""``python -m devkit.replay {rss,mastodon,bluesky,reddit,x} --port N``: serve demo traffic until interrupted."""

from __future__ import annotations

import argparse

from aiohttp import web

from devkit.replay import bluesky, mastodon, reddit, rss, x
from devkit.replay.content import Timeline, fresh_timeline
from devkit.replay.faults import FaultPlan


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.replay", description=__doc__)
    parser.add_argument("kind", choices=["rss", "mastodon", "bluesky", "reddit", "x"])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--total", type=int, default=2000, help="items the server will release")
    parser.add_argument("--faults", action="store_true", help="add 429s, 5xx bursts, bad bodies")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="posts dated up to now and numbered from the clock: each run is new traffic",
    )
    args = parser.parse_args()
    timeline = fresh_timeline(args.total) if args.fresh else Timeline()
    seed = args.seed + timeline.start
    plan = (
        FaultPlan(rate_limit_first=1, burst_every=25, malformed_every=40)
        if args.faults
        else FaultPlan()
    )
    if args.kind == "rss":
        app = rss.make_app(
            rss.RssReplay(
                seed=seed, total=args.total, timeline=timeline, per_request=2, faults=plan
            )
        )
    elif args.kind == "mastodon":
        state = mastodon.MastodonReplay(
            seed=seed, total=args.total, timeline=timeline, per_request=3, faults=plan
        )
        app = mastodon.make_app(state)
    elif args.kind == "bluesky":  # searchPosts on http://, Jetstream on ws:// (same port)
        app = bluesky.make_app(
            bluesky.BlueskyReplay(
                seed=seed, total=args.total, timeline=timeline, per_request=3, faults=plan
            )
        )
    elif args.kind == "reddit":
        app = reddit.make_app(
            reddit.RedditReplay(
                seed=seed, total=args.total, timeline=timeline, per_request=3, faults=plan
            )
        )
    else:
        app = x.make_app(
            x.XReplay(seed=seed, total=args.total, timeline=timeline, per_request=3, faults=plan)
        )
    print(f"replay {args.kind} on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
