"""Redis: every key, the central store, the hot path's lane, Redis Cluster, the embedded server, durability checks;
brands, venues and vocabularies as stored."""
