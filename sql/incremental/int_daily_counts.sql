-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- materialized: temp_view
-- The incremental build's daily counts: the ones pipeline/models/engine.py keeps up to
-- date (or computed for this date).
select seller_id, channel, metric, key_date, numerator, denominator
from _metric_counts_at_date
