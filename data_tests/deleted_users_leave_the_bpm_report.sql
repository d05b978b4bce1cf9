-- A user whose latest profile change is a delete has no row in the Workout BPM Summary. The
-- tombstones live in the CDC state table lake keeps beside silver.user_profile
-- (incremental_strategy cdc). Returns the report rows of deleted users.
select s.*
from {{ ref('workout_bpm_summary') }} as s
join silver.user_profile__lake_cdc_state as t
  on t.user_id = s.user_id
where t._lake_deleted
-- depends_on: {{ ref('user_profile') }}
