"""Reading the dead-letter topics: how many letters each holds and the latest, with why."""
