-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- materialized: temp_view
-- The daily numerators and denominators known at the as-of date, for models that read
-- days rather than window sums (metric_outlook). A full build reads the counting model;
-- an incremental build reads the counts the engine keeps (sql/incremental/ has that file).
select seller_id, channel, metric, key_date, numerator, denominator
from intermediate.int_metric_counts_daily
