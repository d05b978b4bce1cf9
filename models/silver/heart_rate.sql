-- Heart-rate readings, cleaned: impossible rates are dropped by an expectation (a reading outside
-- [var min_heart_rate, var max_heart_rate] goes to silver.heart_rate__quarantine and is counted in
-- the run output and _lake.expectation_results), then one reading per (device_id, time) is kept
-- (insert-new): producer retries re-send a reading under a new offset, always with the same rate,
-- so which copy is kept does not matter.
{{ config(
    incremental_strategy='insert_new',
    unique_key=['device_id', 'time'],
    expectations={
      'possible_heart_rate': 'heartrate between ' ~ var('min_heart_rate') ~ ' and ' ~ var('max_heart_rate')
    },
    on_violation='drop'
) }}

select
  device_id,
  time,
  heartrate,
  _lake_batch
from {{ stream(ref('bpm')) }}
where device_id is not null
  and time is not null
