-- grain: one row per seller x purchase date in the seller rating's 365 days
-- primary key: seller_id, purchase_date
-- The seller rating's inputs (SPEC 3.5) as exact integers: points (100 per perfect order,
-- 0 per defective one, 50 otherwise) and orders per purchase date, as known at the as-of
-- date. marts.seller_scorecard weights them by age.
with daily as (
    select * from intermediate.int_metric_counts_daily
    where metric = 'rating_points'
      and key_date between getvariable('as_of_date') - 364 and getvariable('as_of_date')
),

final as (
    select
        seller_id,
        key_date as purchase_date,
        numerator as points,
        denominator as orders,
    from daily
    where denominator <> 0
)

select * from final
