-- Every reading in workout_bpm belongs to its workout: the user's own watch, inside the
-- workout's window (both ends inclusive). Returns the readings that do not.
select b.*
from {{ ref('workout_bpm') }} as b
left join {{ ref('completed_workouts') }} as w
  on w.user_id = b.user_id and w.workout_id = b.workout_id and w.session_id = b.session_id
left join {{ ref('users') }} as u
  on u.user_id = b.user_id
where w.user_id is null
   or u.device_id is distinct from b.device_id
   or b.time not between w.start_time and w.end_time
