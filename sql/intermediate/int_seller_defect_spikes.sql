-- grain: one row per seller with a defect event in the last 91 days
-- primary key: seller_id
-- The spike rule of SPEC 3.4: orders whose first counting defect event fell in the last
-- 7 days, against a baseline of the 12 weeks before. Orders of any purchase date count.
with orders as (
    select * from intermediate.int_orders_evaluated
    where first_defect_at is not null
),

counted as (
    select
        seller_id,
        count(*) filter (
            where cast(first_defect_at as date)
            between getvariable('as_of_date') - 6 and getvariable('as_of_date')
        ) as recent_defects,
        count(*) filter (
            where cast(first_defect_at as date)
            between getvariable('as_of_date') - 90 and getvariable('as_of_date') - 7
        ) as baseline_defects,
    from orders
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
