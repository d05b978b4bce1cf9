-- Gym Summary (seed 002's report): per gym, device and UTC login date, the minutes in the gym
-- (each visit once) and the minutes of the completed workouts that started during a visit (0
-- when none). Visits are kept by a LEFT join - the seed's inner join dropped visits without
-- workouts and counted a visit once per workout (docs/reference-semantics.md). A table: its
-- inputs are visits and workouts (small), and a late stop or a late visit changes old rows.
-- A workout is matched to a visit through the hour buckets the visit covers (macros/time_windows.sql):
-- joined on the user alone, every visit of a user met every workout of that user before the
-- `between` (2.5M pairs for 48k visits; 125 -> 42 ms on the benchmark's zone, same rows).
with visits as (
  select
    v.mac_address,
    v.gym,
    v.login,
    v.logout,
    u.user_id,
    unnest(generate_series({{ time_bucket('v.login') }}, {{ time_bucket('v.logout') }})) as bucket
  from {{ ref('gym_logs') }} as v
  join {{ ref('users') }} as u
    on u.mac_address = v.mac_address
),

exercise as (
  select
    v.mac_address,
    v.gym,
    v.login,
    sum(w.end_time - w.start_time) as exercise_seconds
  from visits as v
  join {{ ref('completed_workouts') }} as w
    on w.user_id = v.user_id
   and {{ time_bucket('w.start_time') }} = v.bucket
   and w.start_time between v.login and v.logout
  group by v.mac_address, v.gym, v.login
)

select
  v.gym,
  v.mac_address,
  {{ utc_date('v.login') }} as "date",
  round(sum(v.logout - v.login) / 60, 2) as minutes_in_gym,
  round(coalesce(sum(e.exercise_seconds), 0) / 60, 2) as minutes_exercising
from {{ ref('gym_logs') }} as v
left join exercise as e
  on e.mac_address = v.mac_address and e.gym = v.gym and e.login = v.login
group by v.gym, v.mac_address, {{ utc_date('v.login') }}
