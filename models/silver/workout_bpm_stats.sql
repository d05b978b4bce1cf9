-- Per completed workout: min, max, sum and count of its readings - the heavy part of the Workout
-- BPM Summary, kept incrementally so the gold report only joins small tables. A run recomputes
-- the workouts that received readings in workout_bpm (from all their readings, so the figures
-- do not depend on how the readings were batched) and merges them.
{{ config(incremental_strategy='merge', unique_key=['user_id', 'workout_id', 'session_id']) }}

{% if is_incremental() %}
with touched as (
  select distinct user_id, workout_id, session_id
  from {{ stream(ref('workout_bpm')) }}
),

readings as (
  select b.*
  from {{ ref('workout_bpm') }} as b
  semi join touched as t
    on t.user_id = b.user_id and t.workout_id = b.workout_id and t.session_id = b.session_id
)
{% else %}
with readings as (
  select * from {{ stream(ref('workout_bpm')) }}
)
{% endif %}

select
  user_id,
  workout_id,
  session_id,
  min(heartrate) as min_heartrate,
  max(heartrate) as max_heartrate,
  avg(heartrate) as avg_heartrate,
  count(*) as num_recordings,
  cast(null as bigint) as _lake_batch
from readings
group by user_id, workout_id, session_id
