-- The current profile of each user, from the user_info change stream (seed 002's CDCUpserter,
-- DLT's APPLY CHANGES, SCD type 1): per user the change with the greatest change timestamp wins
-- (ties, which only happen between copies of one record, go to the greater partition and offset),
-- a late older change never overwrites a newer one, and a delete removes the user - for good:
-- lake keeps a tombstone, so an older update landing after the delete does not bring it back.
{{ config(
    incremental_strategy='cdc',
    unique_key='user_id',
    sequence_by=['changed_at', 'kafka_partition', 'kafka_offset'],
    delete_when="change_type = 'delete'",
    scd_type=1
) }}

select
  user_id,
  update_type as change_type,
  "timestamp" as changed_at,
  dob,
  {{ parse_dob('dob') }} as birth_date,
  sex,
  gender,
  first_name,
  last_name,
  address.street_address as street_address,
  address.city as city,
  address.state as state,
  address.zip as zip,
  _partition as kafka_partition,
  _offset as kafka_offset,
  _lake_file,
  _lake_line,
  _lake_batch
from {{ stream(ref('user_info')) }}
where user_id is not null
  and "timestamp" is not null
  and (
    -- a delete needs only the user and the time
    update_type = 'delete'
    -- a new or updated profile must carry what the reports use
    or (update_type in ('new', 'update')
        and {{ parse_dob('dob') }} is not null
        and sex is not null
        and address.city is not null
        and address.state is not null)
  )
