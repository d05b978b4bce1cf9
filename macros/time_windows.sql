{#- Joining point events (readings at `time`) to time windows ([start_time, end_time]) of the
    same device. DuckDB plans `a.device = b.device and a.time between b.start and b.end` as a hash
    join on the device followed by a filter, which pairs every reading of a device with every
    window of that device (millions of pairs per device over months). Cutting time into buckets
    and joining on (device, bucket) first keeps each reading paired with the few windows that
    overlap its bucket; the `between` then decides exactly, so the result is the same. -#}

{#- The bucket (var window_bucket_seconds wide) an epoch-seconds value falls in. -#}
{% macro time_bucket(epoch_seconds) -%}
cast(floor({{ epoch_seconds }} / {{ var('window_bucket_seconds') }}) as bigint)
{%- endmacro %}

{#- Readings inside windows. `windows` is a relation or subquery with user_id, workout_id,
    session_id, device_id, start_time, end_time; `readings` one with device_id, time, heartrate.
    Both ends of a window are inclusive.
    `within_span=true` skips the readings outside the span of all the windows before the join: a
    table appended in time order keeps min/max per block, so a few recent windows read only the
    recent part of the readings (10M readings, 571 recent windows: 90 -> 30 ms). Only for a few
    windows: over every window the filter costs more than it saves (230 -> 650 ms). -#}
{% macro readings_in_windows(windows, readings, within_span=false) -%}
select w.user_id, w.workout_id, w.session_id, w.device_id, r.time, r.heartrate
from (
  select *, unnest(generate_series({{ time_bucket('start_time') }}, {{ time_bucket('end_time') }})) as bucket
  from {{ windows }}
) as w
join (
  select device_id, time, heartrate, {{ time_bucket('time') }} as bucket
  from {{ readings }}
  {%- if within_span %}
  where time between (select min(start_time) from {{ windows }}) and (select max(end_time) from {{ windows }})
  {%- endif %}
) as r
  on r.device_id = w.device_id
 and r.bucket = w.bucket
 and r.time between w.start_time and w.end_time
{%- endmacro %}
