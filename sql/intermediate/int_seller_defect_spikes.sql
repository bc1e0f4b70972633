-- grain: one row per seller with a defect event in the last 91 days
-- primary key: seller_id
-- The spike rule of SPEC 3.4: orders whose first counting defect event fell in the last
-- 7 days, against a baseline of the 12 weeks before. Orders of any purchase date count:
-- the counts are the internal `defect_events` windows (by first defect date).
with windowed as (
    select * from intermediate.int_seller_metrics_windowed
    where metric = 'defect_events'
),

counted as (
    select
        seller_id,
        coalesce(max(numerator) filter (where window_days = 7), 0) as recent_defects,
        coalesce(max(numerator) filter (where window_days = 84), 0) as baseline_defects,
    from windowed
    group by seller_id
),

final as (
    select
        seller_id,
        recent_defects,
        baseline_defects,
        greatest(0.5, baseline_defects / 12) as expected_defects,
        recent_defects >= 3
        and cxn_poisson_sf(recent_defects, greatest(0.5, baseline_defects / 12)) < 0.01
            as is_spike,
    from counted
)

select * from final
