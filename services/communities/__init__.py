"""``earshot communities``: the online communities that talk about each place, their register and digest."""
