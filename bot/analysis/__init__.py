"""The analysis worker: the feedback stream read by a consumer group, analysed in batches, stored once."""
