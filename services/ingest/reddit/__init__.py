"""Reddit: subreddit, comment and search listings, optional app-only OAuth."""
