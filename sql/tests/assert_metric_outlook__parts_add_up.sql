-- marts.metric_outlook: the four parts of the 28-day change add up to it (SPEC 3.6), a
-- recovery date exists exactly for the rows at fair or poor and falls in the horizon
-- [D + 1, D + N + L], and a peer percentile is a share.
select seller_id, metric, channel, change_28d, change_entering, change_leaving,
    change_restated, change_volume, status, recovery_date, peer_percentile
from marts.metric_outlook
where as_of_date = getvariable('as_of_date')
  and (
      abs(change_entering + change_leaving + change_restated + change_volume - change_28d)
          > 1e-12
      or (status in ('fair', 'poor')) <> (recovery_date is not null)
      or recovery_date <= as_of_date
      or recovery_date > as_of_date + window_days + lag_days
      or peer_percentile not between 0 and 1
  )
