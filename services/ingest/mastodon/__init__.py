"""Mastodon hashtag timelines, search and streaming."""
