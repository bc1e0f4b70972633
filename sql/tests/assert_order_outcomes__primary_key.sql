-- marts.order_outcomes: the primary key (order_id, as_of_date) is unique and never null.
-- Checked for the as-of date being built; earlier dates were checked when they were built.
select order_id, as_of_date, count(*) as copies
from marts.order_outcomes
where as_of_date = getvariable('as_of_date')
group by all
having count(*) > 1 or bool_or(order_id is null or as_of_date is null)
