-- grain: one row per buyer-message thread and span of load dates over which it holds
-- primary key: thread_id, valid_from
-- intermediate.int_threads_evaluated as a history (see order_state.sql): a thread
-- changes when a message version that belongs (or belonged) to it is loaded or replaced,
-- and ends when its last message moves to another thread.
-- Computed for the threads in temp table _state_keys (key).
with keys as (
    select key as thread_id from _state_keys
),

message_versions as materialized (
    select * from raw.messages semi join keys using (thread_id)
),

breakpoints as (
    select distinct thread_id, valid_from
    from (
        select thread_id, _load_date as valid_from from message_versions
        union all
        select thread_id, _superseded_on from message_versions
        where _superseded_on is not null
    )
),

messages as (
    select breakpoints.thread_id, breakpoints.valid_from, v.* exclude (thread_id),
    from breakpoints
    left join message_versions as v
        on v.thread_id = breakpoints.thread_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

evaluated as (
    select
        thread_id,
        valid_from,
        min(seller_id) as seller_id,
        min(received_at) as first_received_at,
        cast(min(received_at) as date) as first_received_date,
        count(message_id) as messages,
        count(message_id) = 1 as is_single_message,
    from messages
    group by thread_id, valid_from
),

changed as (
    select
        *,
        row(*columns(* exclude (thread_id, valid_from))) as _state,
    from evaluated
    qualify _state is distinct from lag(_state) over (
        partition by thread_id order by valid_from
    )
),

spans as (
    select
        * exclude (_state),
        lead(valid_from) over (partition by thread_id order by valid_from) as valid_to,
    from changed
),

-- A span without messages is the thread's absence.
final as (
    select * from spans where messages > 0
)

select * from final
