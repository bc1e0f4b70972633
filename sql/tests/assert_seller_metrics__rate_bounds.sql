-- marts.seller_metrics: the numerator only counts members of the denominator, rates are
-- fractions, and a row without data has status none (SPEC 3.3). avg_response_hours is
-- a mean of hours, not a rate; policy_notices is a count.
select seller_id, metric, channel, window_days, numerator, denominator, rate, status
from marts.seller_metrics
where as_of_date = getvariable('as_of_date')
  and denominator is not null
  and metric <> 'avg_response_hours'
  and (
      numerator < 0
      or numerator > denominator
      or rate < 0
      or rate > 1
      or (denominator = 0 and (rate is not null or (status <> 'none' and not spike)))
  )
