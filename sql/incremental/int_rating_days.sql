-- grain: one row per seller x purchase date in the seller rating's 365 days
-- primary key: seller_id, purchase_date
-- The incremental build's rating inputs, from the daily counts pipeline/models/engine.py keeps.
with daily as (
    select * from _metric_counts_at_date
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
