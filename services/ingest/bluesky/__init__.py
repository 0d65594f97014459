"""Bluesky: app.bsky.feed.searchPosts polling and the Jetstream firehose."""
