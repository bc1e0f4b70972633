-- marts.metric_drivers: no value of a dimension has more bad events than the failing
-- metric's headline numerator (the drivers count the same population as the metric).
select drivers.seller_id, drivers.metric, drivers.dimension, drivers.value,
    drivers.bad_events, metrics.numerator, metrics.denominator
from marts.metric_drivers as drivers
join marts.seller_metrics as metrics
    on metrics.seller_id = drivers.seller_id
    and metrics.as_of_date = drivers.as_of_date
    and metrics.metric = drivers.metric
    and metrics.channel = drivers.channel
    and metrics.is_headline
where drivers.as_of_date = getvariable('as_of_date')
    and drivers.bad_events > case
        when metrics.target_condition = 'GREATER_THAN' then metrics.denominator - metrics.numerator
        else metrics.numerator
    end
