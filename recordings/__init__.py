"""Full-call recordings: checking the files MixMonitor writes, and (later) keeping them."""
