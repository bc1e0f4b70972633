-- grain: one row per buyer message and span of load dates over which it holds
-- primary key: message_id, valid_from
-- intermediate.int_messages_evaluated as a history (see order_state.sql). The outcome
-- that moves with the as-of date alone: an unanswered message is due once its 24 hours
-- may have run, from the first as-of date D with D 00:00:00 >= received_at: `due_from`
-- (due as of D when due_from <= D; NULL: never due, it needs no response).
-- Computed for the messages in temp table _state_keys (key).
with keys as (
    select key as message_id from _state_keys
),

message_versions as materialized (
    select * from raw.messages semi join keys using (message_id)
),

breakpoints as (
    select distinct message_id, valid_from
    from (
        select message_id, _load_date as valid_from from message_versions
        union all
        select message_id, _superseded_on from message_versions
        where _superseded_on is not null
    )
),

messages as (
    select breakpoints.valid_from, v.*, cast(v.received_at as date) as received_date,
    from breakpoints
    join message_versions as v
        on v.message_id = breakpoints.message_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

evaluated as (
    select
        message_id,
        valid_from,
        thread_id,
        seller_id,
        order_id,
        received_at,
        received_date,
        first_response_at,
        no_response_needed,
        first_response_at is not null as is_answered,
        date_diff('second', received_at, first_response_at) as response_seconds,
        coalesce(first_response_at - received_at <= interval 24 hours, false)
            as is_answered_within_24h,
        case
            when no_response_needed then null
            when first_response_at is not null then date '0001-01-01'
            when received_at = cast(received_date as timestamp) then received_date
            else received_date + 1
        end as due_from,
        buyer_verdict is not null as has_verdict,
        coalesce(buyer_verdict = 'not_solved', false) as is_not_solved,
    from messages
),

changed as (
    select
        *,
        row(*columns(* exclude (message_id, valid_from))) as _state,
    from evaluated
    qualify _state is distinct from lag(_state) over (
        partition by message_id order by valid_from
    )
),

final as (
    select
        * exclude (_state),
        lead(valid_from) over (partition by message_id order by valid_from) as valid_to,
    from changed
)

select * from final
