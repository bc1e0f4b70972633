-- marts.metric_drivers: the primary key (seller_id, as_of_date, metric, dimension, value) is unique and never null.
-- Checked for the as-of date being built; earlier dates were checked when they were built.
select seller_id, as_of_date, metric, dimension, value, count(*) as copies
from marts.metric_drivers
where as_of_date = getvariable('as_of_date')
group by all
having count(*) > 1
    or bool_or(seller_id is null or as_of_date is null or metric is null or dimension is null or value is null)
